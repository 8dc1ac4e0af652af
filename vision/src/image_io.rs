//! Image files in and out: decoding to gray the way OpenCV's `imread` + `cvtColor` would, and
//! writing annotated copies with detection boxes.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, Rgb, RgbImage};

use crate::cascade::Rect;
use crate::imgproc::{gray_from_rgb, gray_pixel, GrayImage};
use crate::panic_guard::catch_panic;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: cannot decode image")]
    Decode { path: PathBuf, source: image::ImageError },
    #[error("{path}: cannot write image")]
    Write { path: PathBuf, source: image::ImageError },
    #[error("{path}: image is {width}x{height}, too large to process")]
    TooLarge { path: PathBuf, width: u32, height: u32 },
    #[error("{path}: cannot decode image: the decoder crashed: {message}")]
    DecoderCrashed { path: PathBuf, message: String },
    #[error("{path}: cannot decode JPEG at reduced size")]
    Reduced { path: PathBuf, source: jpeg_decoder::Error },
}

/// Images above this many pixels are refused rather than risking huge allocations.
pub const MAX_PIXELS: u64 = 1 << 28;

/// A decoded image: its colour pixels (for drawing) and the gray frame the detector reads.
#[derive(Debug)]
pub struct Decoded {
    pub rgb: RgbImage,
    pub gray: GrayImage,
}

/// Decodes any supported image file (PNG, JPEG, BMP, PNM). Colour is reduced to gray with
/// OpenCV's weights; an alpha channel is ignored, as `imread(IMREAD_COLOR)` does.
pub fn read(path: &Path) -> Result<Decoded, ImageError> {
    let bytes = std::fs::read(path).map_err(|e| ImageError::Decode {
        path: path.to_path_buf(),
        source: image::ImageError::IoError(e),
    })?;
    decode(&bytes, path, MAX_PIXELS)
}

/// Decodes the bytes of an image file, `path` naming it in errors. The format comes from the
/// content, not the name (a camera tool writing PNG data under `.jpg` is common enough), and the
/// size from the header is checked against `max_pixels` before any pixel buffer is made.
pub fn decode(bytes: &[u8], path: &Path, max_pixels: u64) -> Result<Decoded, ImageError> {
    let decode_err = |source| ImageError::Decode { path: path.to_path_buf(), source };
    let reader = || {
        image::ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| decode_err(e.into()))
    };
    let (width, height) = reader()?.into_dimensions().map_err(decode_err)?;
    if width as u64 * height as u64 > max_pixels {
        return Err(ImageError::TooLarge { path: path.to_path_buf(), width, height });
    }
    let reader = reader()?;
    // zune-jpeg 0.5.15 asserts in its AVX2 upsampler on some malformed JPEGs (found by
    // fuzz/fuzz_targets/replay_image.rs; tests/fixtures/images/jpeg_upsampler_panic.jpg).
    let image = catch_panic(|| reader.decode())
        .map_err(|message| ImageError::DecoderCrashed { path: path.to_path_buf(), message })?
        .map_err(decode_err)?;
    Ok(decoded(image))
}

/// Splits a decoded image into its RGB copy and its OpenCV-equivalent gray frame.
pub fn decoded(image: DynamicImage) -> Decoded {
    let (w, h) = (image.width() as usize, image.height() as usize);
    // `into_rgb8` takes an RGB decode as it is (no second 0.9 MB copy per camera frame).
    let (rgb, gray) = match image {
        // A gray file read as colour has three equal channels, which convert back exactly.
        DynamicImage::ImageLuma8(luma) => {
            let rgb = DynamicImage::ImageLuma8(luma.clone()).into_rgb8();
            (rgb, GrayImage::new(w, h, luma.into_raw()))
        }
        other => {
            let rgb = other.into_rgb8();
            let gray = gray_from_rgb(w, h, rgb.as_raw());
            (rgb, gray)
        }
    };
    let gray = gray.expect("decoded buffers match their dimensions");
    Decoded { rgb, gray }
}

/// Whether `bytes` start like a JPEG file (SOI marker followed by another marker).
pub fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// A small gray picture of a JPEG, at least `min_width` pixels wide where the image is: the
/// decoder's IDCT runs at 1/2, 1/4 or 1/8 of the size, so no full-size pixels are ever made.
/// This is the motion gate's cheap look at a frame; its gray uses OpenCV's weights like
/// [`decode`], but the pixels are not the ones a full decode would scale down to.
pub fn jpeg_preview(
    bytes: &[u8],
    path: &Path,
    min_width: u16,
    max_pixels: u64,
) -> Result<Preview, ImageError> {
    let reduced = |source| ImageError::Reduced { path: path.to_path_buf(), source };
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    let decoded = catch_panic(|| -> Result<_, ImageError> {
        decoder.read_info().map_err(reduced)?;
        let info = decoder
            .info()
            .ok_or_else(|| reduced(jpeg_decoder::Error::Format("no frame header".into())))?;
        let (width, height) = (info.width as u32, info.height as u32);
        if width as u64 * height as u64 > max_pixels {
            return Err(ImageError::TooLarge { path: path.to_path_buf(), width, height });
        }
        let min_height = (min_width as u32 * height).div_ceil(width.max(1)).min(u16::MAX as u32);
        let (w, h) = decoder.scale(min_width, min_height as u16).map_err(reduced)?;
        let pixels = decoder.decode().map_err(reduced)?;
        Ok((w as usize, h as usize, info, pixels))
    })
    .map_err(|message| ImageError::DecoderCrashed { path: path.to_path_buf(), message })??;
    let (w, h, info, pixels) = decoded;
    let gray = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => GrayImage::new(w, h, pixels),
        jpeg_decoder::PixelFormat::RGB24 => gray_from_rgb(w, h, &pixels),
        // Four-channel (Adobe CMYK) JPEGs come from scanners, not cameras; no gate needed to
        // be exact for them, only to not fail: the first three channels as if RGB.
        jpeg_decoder::PixelFormat::CMYK32 => GrayImage::new(
            w,
            h,
            pixels.chunks_exact(4).map(|p| gray_pixel(p[0], p[1], p[2])).collect(),
        ),
        jpeg_decoder::PixelFormat::L16 => {
            GrayImage::new(w, h, pixels.chunks_exact(2).map(|p| p[0]).collect())
        }
    };
    let gray =
        gray.ok_or_else(|| reduced(jpeg_decoder::Error::Format("pixel buffer size".into())))?;
    Ok(Preview { gray, full_width: info.width as u32, full_height: info.height as u32 })
}

/// A reduced-size gray picture and the size of the image it shows.
#[derive(Debug)]
pub struct Preview {
    pub gray: GrayImage,
    pub full_width: u32,
    pub full_height: u32,
}

/// Draws each box as a 2-pixel outline.
pub fn draw_boxes(image: &mut RgbImage, boxes: &[Rect], colour: [u8; 3]) {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let mut put = |x: i64, y: i64| {
        if (0..w).contains(&x) && (0..h).contains(&y) {
            image.put_pixel(x as u32, y as u32, Rgb(colour));
        }
    };
    for r in boxes {
        let (x0, y0) = (r.x as i64, r.y as i64);
        let (x1, y1) = (x0 + r.width as i64 - 1, y0 + r.height as i64 - 1);
        for t in 0..2 {
            for x in x0..=x1 {
                put(x, y0 + t);
                put(x, y1 - t);
            }
            for y in y0..=y1 {
                put(x0 + t, y);
                put(x1 - t, y);
            }
        }
    }
}

/// Writes `image` as PNG to `path` through a temporary file, so a failed write never leaves a
/// truncated picture behind.
pub fn write_png(image: &RgbImage, path: &Path) -> Result<(), ImageError> {
    let tmp = path.with_extension("png.tmp");
    let result = image
        .save_with_format(&tmp, image::ImageFormat::Png)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(image::ImageError::IoError));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|source| ImageError::Write { path: path.to_path_buf(), source })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn png_bytes(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        RgbImage::from_pixel(width, height, Rgb([200, 100, 50]))
            .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .expect("encoding a small PNG in memory");
        bytes
    }

    #[test]
    fn the_format_comes_from_the_content_not_the_name() {
        let decoded = decode(&png_bytes(5, 3), Path::new("frame.jpg"), MAX_PIXELS).unwrap();
        assert_eq!((decoded.gray.width, decoded.gray.height), (5, 3));
        assert_eq!(decoded.rgb.get_pixel(4, 2), &Rgb([200, 100, 50]));
    }

    #[test]
    fn a_picture_above_the_pixel_limit_is_refused_before_decoding() {
        let err = decode(&png_bytes(5, 3), Path::new("big.png"), 14).unwrap_err();
        assert!(matches!(err, ImageError::TooLarge { width: 5, height: 3, .. }), "{err}");
        assert!(err.to_string().starts_with("big.png: image is 5x3"), "{err}");
    }

    /// Made by the fuzzer: zune-jpeg's AVX2 upsampler panics on it.
    const DECODER_PANIC: &[u8] =
        include_bytes!("../../tests/fixtures/images/jpeg_upsampler_panic.jpg");

    #[test]
    fn a_file_that_crashes_the_decoder_is_an_error_not_a_panic() {
        let result = decode(DECODER_PANIC, Path::new("glitch.jpg"), MAX_PIXELS);
        // The panic is in the AVX2 code path; elsewhere the decoder may reject the file itself.
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let err = result.as_ref().unwrap_err();
            assert!(matches!(err, ImageError::DecoderCrashed { .. }), "{err}");
            assert!(err
                .to_string()
                .starts_with("glitch.jpg: cannot decode image: the decoder crashed"));
        }
        assert!(result.is_err());
    }

    #[test]
    fn a_jpeg_preview_is_decoded_at_reduced_size() {
        let mut jpeg = Vec::new();
        let picture = RgbImage::from_fn(640, 480, |x, _| Rgb([(x / 3) as u8, 90, 40]));
        picture.write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
        assert!(is_jpeg(&jpeg) && !is_jpeg(&png_bytes(2, 2)));
        let preview = jpeg_preview(&jpeg, Path::new("f.jpg"), 160, MAX_PIXELS).unwrap();
        assert_eq!((preview.full_width, preview.full_height), (640, 480));
        let small = preview.gray;
        assert_eq!((small.width, small.height), (160, 120));
        let full = decode(&jpeg, Path::new("f.jpg"), MAX_PIXELS).unwrap().gray;
        // Block means of the full decode: within a few levels of the reduced IDCT.
        let shrunk = crate::imgproc::shrink_mean(&full.pixels, 640, 480, 1, 4).unwrap();
        let worst = small.pixels.iter().zip(&shrunk.pixels).map(|(a, b)| a.abs_diff(*b)).max();
        assert!(worst.unwrap() <= 4, "{worst:?}");
        let err = jpeg_preview(&jpeg, Path::new("big.jpg"), 160, 1000).unwrap_err();
        assert!(matches!(err, ImageError::TooLarge { width: 640, .. }), "{err}");
        let err = jpeg_preview(&jpeg[..200], Path::new("cut.jpg"), 160, MAX_PIXELS).unwrap_err();
        assert!(err.to_string().starts_with("cut.jpg: "), "{err}");
        assert!(jpeg_preview(DECODER_PANIC, Path::new("g.jpg"), 160, MAX_PIXELS).is_err());
    }

    #[test]
    fn bytes_that_are_no_image_name_the_file() {
        let err = decode(b"not a picture", Path::new("0003.jpg"), MAX_PIXELS).unwrap_err();
        assert!(err.to_string().starts_with("0003.jpg: cannot decode image"), "{err}");
        let truncated = &png_bytes(8, 8)[..40];
        assert!(decode(truncated, Path::new("cut.png"), MAX_PIXELS).is_err());
        let missing = read(Path::new("/nonexistent/0001.png")).unwrap_err();
        assert!(
            missing.to_string().starts_with("/nonexistent/0001.png: cannot decode"),
            "{missing}"
        );
    }
}
