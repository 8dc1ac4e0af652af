//! WOFF 1.0 web fonts (the `.woff` files of npm's webfont packages) turned back into the
//! TrueType/OpenType file they wrap, so the font reader can use them: each table is inflated
//! when compressed and laid out again behind a fresh table directory.

use std::io::Read;

const HEADER: usize = 44;
const ENTRY: usize = 20;
/// No font has more; a larger count is a broken file.
const MAX_TABLES: usize = 256;
/// Fonts are a few MB (a CJK font some tens); refusing more keeps a bad length field, or many
/// table entries pointing at the same small zlib bomb, from taking much memory.
const MAX_FONT: usize = 96 << 20;

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// The sfnt (TrueType/OpenType) bytes inside a WOFF 1.0 file, or why there are none.
pub fn to_sfnt(woff: &[u8]) -> Result<Vec<u8>, String> {
    if woff.len() < HEADER || &woff[..4] != b"wOFF" {
        return Err("no WOFF header".into());
    }
    let flavor = be32(woff, 4).ok_or("header cut")?;
    let count = be16(woff, 12).ok_or("header cut")? as usize;
    if count == 0 || count > MAX_TABLES {
        return Err(format!("{count} tables"));
    }
    let mut entries = Vec::with_capacity(count);
    for k in 0..count {
        let at = HEADER + k * ENTRY;
        let field = |o: usize| be32(woff, at + o).ok_or(format!("table directory entry {k} cut"));
        let (tag, offset, compressed, length, checksum) =
            (field(0)?, field(4)? as usize, field(8)? as usize, field(12)? as usize, field(16)?);
        if compressed > length {
            return Err(format!("table {k}: {compressed} bytes for {length}"));
        }
        entries.push((tag, offset, compressed, length, checksum));
    }
    // Checked before inflating anything.
    if entries.iter().fold(0usize, |sum, e| sum.saturating_add(e.3)) > MAX_FONT {
        return Err(format!("tables add up to more than {} MB", MAX_FONT >> 20));
    }
    let mut tables = Vec::with_capacity(count);
    for (k, &(tag, offset, compressed, length, checksum)) in entries.iter().enumerate() {
        let data = woff
            .get(offset..offset.checked_add(compressed).ok_or("table offset overflows")?)
            .ok_or(format!("table {k} lies outside the file"))?;
        let data = if compressed < length {
            let mut out = Vec::with_capacity(length);
            flate2::read::ZlibDecoder::new(data)
                .take(length as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("table {k}: {e}"))?;
            if out.len() != length {
                return Err(format!("table {k} inflates to {} bytes, not {length}", out.len()));
            }
            out
        } else {
            data.to_vec()
        };
        tables.push((tag, checksum, data));
    }
    // The sfnt directory: version, table count, binary-search fields, then one record per table.
    let power = 1usize << (usize::BITS - 1 - count.leading_zeros());
    let mut out = Vec::new();
    out.extend(flavor.to_be_bytes());
    out.extend((count as u16).to_be_bytes());
    out.extend(((power * 16) as u16).to_be_bytes());
    out.extend((power.trailing_zeros() as u16).to_be_bytes());
    out.extend(((count * 16 - power * 16) as u16).to_be_bytes());
    let mut offset = 12 + 16 * count;
    for (tag, checksum, data) in &tables {
        out.extend(tag.to_be_bytes());
        out.extend(checksum.to_be_bytes());
        out.extend((offset as u32).to_be_bytes());
        out.extend((data.len() as u32).to_be_bytes());
        offset += data.len().next_multiple_of(4);
    }
    for (_, _, data) in &tables {
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A WOFF with two tables, one stored and one compressed.
    fn sample() -> Vec<u8> {
        let plain = b"abcdefgh".to_vec();
        let big = vec![7u8; 100];
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&big).unwrap();
        let packed = z.finish().unwrap();
        let mut woff = b"wOFF".to_vec();
        woff.extend(0x0001_0000u32.to_be_bytes());
        woff.extend(0u32.to_be_bytes()); // length (unused here)
        woff.extend(2u16.to_be_bytes());
        woff.resize(HEADER, 0);
        let first = HEADER + 2 * ENTRY;
        let second = first + plain.len();
        for (tag, offset, comp, orig) in [
            (*b"cmap", first, plain.len(), plain.len()),
            (*b"glyf", second, packed.len(), big.len()),
        ] {
            woff.extend(tag);
            for v in [offset as u32, comp as u32, orig as u32, 0] {
                woff.extend(v.to_be_bytes());
            }
        }
        woff.extend(&plain);
        woff.extend(&packed);
        woff
    }

    #[test]
    fn tables_are_inflated_behind_an_sfnt_directory() {
        let sfnt = to_sfnt(&sample()).unwrap();
        assert_eq!(&sfnt[..6], &[0, 1, 0, 0, 0, 2]);
        assert_eq!(&sfnt[12..16], b"cmap");
        assert_eq!(be32(&sfnt, 20), Some(44)); // 12 + 2·16
        assert_eq!(&sfnt[44..52], b"abcdefgh");
        assert_eq!(be32(&sfnt, 36), Some(52));
        assert_eq!(&sfnt[52..152], &[7u8; 100][..]);
    }

    #[test]
    fn cut_or_lying_files_are_errors() {
        let woff = sample();
        for end in [3, 20, 50, woff.len() - 1] {
            assert!(to_sfnt(&woff[..end]).is_err(), "cut at {end}");
        }
        let mut lying = woff.clone();
        lying[HEADER + 12..HEADER + 16].copy_from_slice(&1000u32.to_be_bytes());
        assert!(to_sfnt(&lying).unwrap_err().contains("table 0"));
        // Both entries claiming 60 MB: more than any font, refused before inflating anything.
        let mut bomb = woff.clone();
        for k in 0..2 {
            let at = HEADER + k * ENTRY + 12;
            bomb[at..at + 4].copy_from_slice(&(60u32 << 20).to_be_bytes());
        }
        assert!(to_sfnt(&bomb).unwrap_err().contains("more than 96 MB"));
    }
}
