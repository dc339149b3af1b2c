//! A 2D map of latents: projection onto their first two principal components.
//!
//! Latent dimensions are few (tens), so the covariance matrix is small and
//! power iteration with deflation is exact enough and needs no linear algebra
//! crate (this runs in the browser too).

/// Points projected onto the two leading principal components.
#[derive(Clone, Debug, PartialEq)]
pub struct LatentMap {
    /// `(pc1, pc2)` per input row.
    pub points: Vec<[f64; 2]>,
    /// Share of the total variance each component explains.
    pub explained: [f64; 2],
}

/// Projects `rows` (`n x dim`, row-major) onto their two leading principal
/// components. The sign of each component is fixed so that the first row's
/// coordinates are not negative, so the map does not flip between runs.
pub fn latent_map(rows: &[f32], dim: usize) -> LatentMap {
    assert!(
        dim > 0 && rows.len().is_multiple_of(dim),
        "rows must be n x dim"
    );
    let n = rows.len() / dim;
    if n == 0 {
        return LatentMap {
            points: Vec::new(),
            explained: [0.0; 2],
        };
    }
    let mut mean = vec![0.0f64; dim];
    for row in rows.chunks(dim) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += x as f64 / n as f64;
        }
    }
    let centred: Vec<Vec<f64>> = rows
        .chunks(dim)
        .map(|row| row.iter().zip(&mean).map(|(&x, m)| x as f64 - m).collect())
        .collect();
    let mut cov = vec![vec![0.0f64; dim]; dim];
    for row in &centred {
        for i in 0..dim {
            for j in 0..dim {
                cov[i][j] += row[i] * row[j] / n as f64;
            }
        }
    }
    let total: f64 = (0..dim).map(|i| cov[i][i]).sum();
    let mut components = Vec::with_capacity(2);
    let mut explained = [0.0; 2];
    for (k, share) in explained.iter_mut().enumerate() {
        let (value, vector) = leading_eigenvector(&cov, k);
        *share = if total > 0.0 { value / total } else { 0.0 };
        // Deflate so the next power iteration finds the next component.
        for i in 0..dim {
            for j in 0..dim {
                cov[i][j] -= value * vector[i] * vector[j];
            }
        }
        components.push(vector);
    }
    let mut points: Vec<[f64; 2]> = centred
        .iter()
        .map(|row| {
            let project = |c: &Vec<f64>| row.iter().zip(c).map(|(a, b)| a * b).sum::<f64>();
            [project(&components[0]), project(&components[1])]
        })
        .collect();
    for axis in 0..2 {
        if points[0][axis] < 0.0 {
            points.iter_mut().for_each(|p| p[axis] = -p[axis]);
        }
    }
    LatentMap { points, explained }
}

/// The largest eigenvalue of the symmetric matrix `m` and its unit eigenvector.
fn leading_eigenvector(m: &[Vec<f64>], salt: usize) -> (f64, Vec<f64>) {
    let dim = m.len();
    // A fixed, non-degenerate start so the result does not depend on chance.
    let mut v: Vec<f64> = (0..dim)
        .map(|i| 1.0 + ((i + salt) % 7) as f64 * 0.1)
        .collect();
    let mut value = 0.0;
    for _ in 0..500 {
        let w: Vec<f64> = m
            .iter()
            .map(|row| row.iter().zip(&v).map(|(a, b)| a * b).sum())
            .collect();
        let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            return (0.0, v);
        }
        let next: Vec<f64> = w.iter().map(|x| x / norm).collect();
        let change: f64 = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
        v = next;
        value = norm;
        if change < 1e-12 {
            break;
        }
    }
    (value, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_directions_of_largest_spread() {
        // Points spread 10x along (1, 1, 0)/sqrt2, 3x along z, little along (1, -1, 0).
        let mut rows = Vec::new();
        for i in 0..200 {
            let t = (i as f32 / 199.0 - 0.5) * 20.0;
            let s = ((i * 37 % 200) as f32 / 199.0 - 0.5) * 6.0;
            let e = ((i * 91 % 200) as f32 / 199.0 - 0.5) * 0.2;
            rows.extend([t + e, t - e, s]);
        }
        let map = latent_map(&rows, 3);
        assert_eq!(map.points.len(), 200);
        assert!(map.explained[0] > map.explained[1] && map.explained[1] > 0.0);
        assert!(
            map.explained[0] + map.explained[1] > 0.99,
            "{:?}",
            map.explained
        );
        // PC1 is the (1, 1, 0) direction: the projection tracks t * sqrt(2).
        let first = map.points[0][0];
        let expected = (10.0f64 * 2f64.sqrt()).abs();
        assert!(
            (first.abs() - expected).abs() < 0.1,
            "{first} vs {expected}"
        );
        assert!(first >= 0.0, "signs are fixed by the first row");
    }

    #[test]
    fn empty_and_constant_inputs_give_empty_or_flat_maps() {
        assert!(latent_map(&[], 4).points.is_empty());
        let flat = latent_map(&[1.0; 12], 4);
        assert!(
            flat.points
                .iter()
                .all(|p| p[0].abs() < 1e-9 && p[1].abs() < 1e-9)
        );
    }
}
