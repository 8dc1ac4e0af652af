//! Merging raw detections into objects, as OpenCV's `groupRectangles` does.

use super::Rect;

/// OpenCV's similarity: every edge within `eps · (min w + min h) / 2` of the other's.
fn similar(a: &Rect, b: &Rect, eps: f64) -> bool {
    let delta = eps * (a.width.min(b.width) + a.height.min(b.height)) as f64 * 0.5;
    let close = |p: i32, q: i32| ((p - q).abs() as f64) <= delta;
    close(a.x, b.x)
        && close(a.y, b.y)
        && close(a.x + a.width, b.x + b.width)
        && close(a.y + a.height, b.y + b.height)
}

/// Labels the connected components of the similarity graph, numbered in the order of each
/// component's first member (OpenCV's `partition`).
fn partition(rects: &[Rect], eps: f64) -> (Vec<usize>, usize) {
    let mut parent: Vec<usize> = (0..rects.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..rects.len() {
        for j in i + 1..rects.len() {
            if similar(&rects[i], &rects[j], eps) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut label_of_root = vec![usize::MAX; rects.len()];
    let mut labels = Vec::with_capacity(rects.len());
    let mut count = 0;
    for i in 0..rects.len() {
        let r = root(&mut parent, i);
        if label_of_root[r] == usize::MAX {
            label_of_root[r] = count;
            count += 1;
        }
        labels.push(label_of_root[r]);
    }
    (labels, count)
}

/// Clusters similar rectangles, averages each cluster, keeps clusters with more than
/// `min_neighbors` members and drops a cluster lying inside a stronger one.
/// `min_neighbors == 0` returns the rectangles unchanged.
pub fn group_rectangles(rects: &[Rect], min_neighbors: u32, eps: f64) -> Vec<Rect> {
    if min_neighbors == 0 || rects.is_empty() {
        return rects.to_vec();
    }
    let threshold = min_neighbors as usize;
    let (labels, count) = partition(rects, eps);
    let mut sums = vec![[0i64; 4]; count];
    let mut members = vec![0usize; count];
    for (r, &label) in rects.iter().zip(&labels) {
        let s = &mut sums[label];
        s[0] += r.x as i64;
        s[1] += r.y as i64;
        s[2] += r.width as i64;
        s[3] += r.height as i64;
        members[label] += 1;
    }
    // OpenCV averages in f32 (sum · (1/n)) and rounds half to even.
    let averages: Vec<Rect> = sums
        .iter()
        .zip(&members)
        .map(|(s, &n)| {
            let inv = 1.0f32 / n as f32;
            let avg = |v: i64| ((v as i32) as f32 * inv).round_ties_even() as i32;
            Rect { x: avg(s[0]), y: avg(s[1]), width: avg(s[2]), height: avg(s[3]) }
        })
        .collect();
    let mut kept = Vec::new();
    for (i, r1) in averages.iter().enumerate() {
        let n1 = members[i];
        if n1 <= threshold {
            continue;
        }
        let inside_stronger = averages.iter().enumerate().any(|(j, r2)| {
            let n2 = members[j];
            if j == i || n2 <= threshold {
                return false;
            }
            let dx = (r2.width as f64 * eps).round_ties_even() as i32;
            let dy = (r2.height as f64 * eps).round_ties_even() as i32;
            r1.x >= r2.x - dx
                && r1.y >= r2.y - dy
                && r1.x + r1.width <= r2.x + r2.width + dx
                && r1.y + r1.height <= r2.y + r2.height + dy
                && (n2 > n1.max(3) || n1 < 3)
        });
        if !inside_stronger {
            kept.push(*r1);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(x: i32, y: i32, w: i32, h: i32) -> Rect {
        Rect { x, y, width: w, height: h }
    }

    #[test]
    fn zero_neighbours_keeps_everything() {
        let rects = vec![r(0, 0, 10, 10), r(1, 1, 10, 10)];
        assert_eq!(group_rectangles(&rects, 0, 0.2), rects);
    }

    #[test]
    fn clusters_are_averaged_and_small_ones_dropped() {
        let rects =
            vec![r(10, 10, 24, 24), r(11, 10, 24, 24), r(12, 11, 25, 25), r(100, 100, 24, 24)];
        assert_eq!(group_rectangles(&rects, 2, 0.2), vec![r(11, 10, 24, 24)]);
        assert_eq!(group_rectangles(&rects, 3, 0.2), vec![]);
    }

    #[test]
    fn weak_cluster_inside_strong_one_is_dropped() {
        let mut rects = vec![r(0, 0, 100, 100); 6];
        rects.extend(vec![r(30, 30, 40, 40); 2]);
        assert_eq!(group_rectangles(&rects, 1, 0.2), vec![r(0, 0, 100, 100)]);
    }

    #[test]
    fn chains_of_similar_rects_join_transitively() {
        // a~b and b~c but not a~c: one cluster, labelled by its first member.
        let rects = vec![r(0, 0, 20, 20), r(4, 0, 20, 20), r(8, 0, 20, 20)];
        let (labels, count) = partition(&rects, 0.2);
        assert_eq!((labels, count), (vec![0, 0, 0], 1));
    }
}
