//! Decoding the output of a CTC sequence model (`lookout.task = "ctc"`): per time step,
//! probabilities over `blank + labels`, the blank at index 0.
//!
//! [`greedy`] takes the best class per step, merges repeats and drops blanks. [`beam`] is
//! prefix beam search: it sums the probability of every alignment of a prefix, so a string
//! whose probability is spread over several alignments can beat the single best path.

/// Greedy (best path) decoding of `probs` (`steps × classes`, row-major). Returns label
/// indices (class − 1).
pub fn greedy(probs: &[f32], classes: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut previous = 0;
    for row in probs.chunks_exact(classes) {
        let best = crate::scores::argmax(row);
        if best != 0 && best != previous {
            out.push(best - 1);
        }
        previous = best;
    }
    out
}

/// One prefix of the beam: probability of ending in a blank and in its last label.
#[derive(Debug, Clone)]
struct Beam {
    prefix: Vec<usize>,
    blank: f64,
    label: f64,
}

impl Beam {
    fn total(&self) -> f64 {
        self.blank + self.label
    }
}

/// Prefix beam search keeping `width` prefixes (`width ≥ 1`). Returns label indices and
/// the probability of the decoded string.
pub fn beam(probs: &[f32], classes: usize, width: usize) -> (Vec<usize>, f64) {
    let width = width.max(1);
    let mut beams = vec![Beam { prefix: Vec::new(), blank: 1.0, label: 0.0 }];
    for row in probs.chunks_exact(classes) {
        let mut next: Vec<Beam> = Vec::with_capacity(beams.len() * classes);
        let mut add = |prefix: Vec<usize>, blank: f64, label: f64| match next
            .iter_mut()
            .find(|b| b.prefix == prefix)
        {
            Some(b) => {
                b.blank += blank;
                b.label += label;
            }
            None => next.push(Beam { prefix, blank, label }),
        };
        for b in &beams {
            let p_blank = row[0] as f64;
            // Stay on the same prefix through a blank, or by repeating its last label.
            add(b.prefix.clone(), b.total() * p_blank, 0.0);
            if let Some(&last) = b.prefix.last() {
                add(b.prefix.clone(), 0.0, b.label * row[last + 1] as f64);
            }
            for (c, &p) in row.iter().enumerate().skip(1) {
                let p = p as f64;
                let mut extended = b.prefix.clone();
                extended.push(c - 1);
                // A repeated label only extends the prefix after a blank in between.
                let from = if b.prefix.last() == Some(&(c - 1)) { b.blank } else { b.total() };
                add(extended, 0.0, from * p);
            }
        }
        next.sort_by(|a, b| b.total().total_cmp(&a.total()).then_with(|| a.prefix.cmp(&b.prefix)));
        next.truncate(width);
        beams = next;
    }
    let best = beams.swap_remove(0);
    let p = best.total();
    (best.prefix, p)
}

/// Levenshtein distance between two label sequences.
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(x != y);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps of (blank, "a", "b") probabilities.
    fn steps(rows: &[[f32; 3]]) -> Vec<f32> {
        rows.iter().flatten().copied().collect()
    }

    #[test]
    fn greedy_merges_repeats_and_drops_blanks() {
        // a a _ a b b _ → "a a b" (the blank separates the two a's).
        let probs = steps(&[
            [0.1, 0.8, 0.1],
            [0.2, 0.7, 0.1],
            [0.9, 0.05, 0.05],
            [0.1, 0.8, 0.1],
            [0.1, 0.1, 0.8],
            [0.2, 0.1, 0.7],
            [0.6, 0.2, 0.2],
        ]);
        assert_eq!(greedy(&probs, 3), [0, 0, 1]);
        assert_eq!(greedy(&[], 3), Vec::<usize>::new());
    }

    #[test]
    fn beam_finds_the_string_whose_alignments_add_up() {
        // Best single path is "_ _" (0.36), but "a" has total 0.4·0.6 + 0.6·0.4 + 0.4·0.4 = 0.64.
        let probs = steps(&[[0.6, 0.4, 0.0], [0.6, 0.4, 0.0]]);
        assert_eq!(greedy(&probs, 3), Vec::<usize>::new());
        let (decoded, p) = beam(&probs, 3, 4);
        assert_eq!(decoded, [0]);
        assert!((p - 0.64).abs() < 1e-6, "{p}");
    }

    #[test]
    fn beam_agrees_with_greedy_on_confident_outputs() {
        let probs = steps(&[
            [0.01, 0.98, 0.01],
            [0.98, 0.01, 0.01],
            [0.01, 0.98, 0.01],
            [0.01, 0.01, 0.98],
        ]);
        assert_eq!(beam(&probs, 3, 8).0, greedy(&probs, 3));
        assert_eq!(greedy(&probs, 3), [0, 0, 1]);
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_substitutions() {
        assert_eq!(edit_distance(b"kitten", b"sitting"), 3);
        assert_eq!(edit_distance::<u8>(b"", b"abc"), 3);
        assert_eq!(edit_distance(b"123", b"123"), 0);
    }
}
