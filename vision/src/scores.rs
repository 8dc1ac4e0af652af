//! Reading a probability vector: the best index, and the best `k` with their probabilities.
//! Classifiers and CTC decoding both rank scores this way, ties going to the lower index so the
//! result never depends on sort stability.

/// Index of the largest value, the first of equal ones (0 for an empty slice).
pub fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold(0, |best, (i, v)| if *v > values[best] { i } else { best })
}

/// The `k` largest values with their indices, best first (ties: lower index first).
pub fn top_k(values: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = values.iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(k);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_of_equal_maxima() {
        assert_eq!(argmax(&[0.1, 0.7, 0.7, 0.2]), 1);
        assert_eq!(argmax(&[1.0]), 0);
        assert_eq!(argmax(&[]), 0);
    }

    #[test]
    fn top_k_ranks_ties_by_index() {
        assert_eq!(top_k(&[0.1, 0.7, 0.7, 0.2], 3), vec![(1, 0.7), (2, 0.7), (3, 0.2)]);
        assert_eq!(top_k(&[0.5], 3), vec![(0, 0.5)]);
    }
}
