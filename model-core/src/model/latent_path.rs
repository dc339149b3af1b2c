//! A path between two molecules through the latent space, made so that
//! neighbouring molecules are one edit apart wherever the model allows.
//!
//! Three stages, each optional through [`PathOptions`]:
//! 1. decode `steps` evenly spaced points on the straight line between the
//!    two latents (what the Explore view showed before);
//! 2. where two neighbours are more than one edit apart, decode the
//!    midpoint, and again, until the decoding budget is spent or the points
//!    are [`MIN_SPACING`] apart: the decoder may pass through intermediates
//!    that the even spacing stepped over;
//! 3. where a jump remains (the greedy decoding flips from one molecule to
//!    another at one point of the line), bridge it with single edits
//!    ([`crate::chem::edit`]), searched best first: the molecule whose latent
//!    lies nearest the far side's is expanded next. A bridge that does not
//!    arrive within `bridge_edits` edits and `bridge_expansions` expanded
//!    molecules is dropped and the jump stays, so every bridged step is the
//!    latent space's own choice.
//!
//! Decodings between the two ends that break a structural rule are left
//! out (the bridges go around them), and a molecule the path comes back to
//! closes a loop, which is cut out.
//!
//! Decoding and encoding come in as functions, so the native trainer and the
//! browser (which holds its model behind its own generator) share this.

use std::collections::{BinaryHeap, HashMap, HashSet};

use crate::chem::edit::{count_difference, every_edit, single_edit_neighbours};
use crate::chem::{Element, Molecule, canonical_smiles};

/// Refinement stops splitting the line below this spacing in t.
pub const MIN_SPACING: f64 = 1.0 / 1024.0;

/// Where a molecule on the path came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepSource {
    /// The greedy decoding of the latent at `t`.
    Decoded,
    /// A single edit of the step before, chosen by the latent space.
    Bridged,
}

/// One molecule on the path.
#[derive(Clone, Debug, PartialEq)]
pub struct PathStep {
    /// Position on the line, 0 at the first molecule, 1 at the second;
    /// bridged steps are spread evenly over the jump they fill.
    pub t: f64,
    pub molecule: Molecule,
    pub smiles: String,
    pub source: StepSource,
    /// [`edits_apart`] from the step before (0 for the first).
    pub edits: usize,
}

/// How much work a path may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathOptions {
    /// Evenly spaced points decoded first (at least 2).
    pub steps: usize,
    /// Latents decoded in all; `steps` turns refinement off.
    pub max_decodes: usize,
    /// Edits a bridge may take; 0 turns bridging off.
    pub bridge_edits: usize,
    /// Molecules a bridge may expand (encode the neighbours of) before it
    /// gives up.
    pub bridge_expansions: usize,
    /// Largest molecule a bridge may pass through.
    pub max_atoms: usize,
}

impl PathOptions {
    /// Refinement and bridging on, with budgets that keep a path well under
    /// a second in the browser.
    pub fn refined(steps: usize, max_atoms: usize) -> PathOptions {
        PathOptions {
            steps: steps.max(2),
            max_decodes: 64,
            bridge_edits: 16,
            bridge_expansions: 24,
            max_atoms,
        }
    }

    /// Only the evenly spaced points.
    pub fn straight(steps: usize, max_atoms: usize) -> PathOptions {
        PathOptions {
            steps: steps.max(2),
            max_decodes: steps.max(2),
            bridge_edits: 0,
            bridge_expansions: 0,
            max_atoms,
        }
    }
}

/// How many edits ([`crate::chem::edit::Edit`]) apart two molecules are:
/// 0 for one molecule, 1 when one edit of either gives the other, else a
/// lower bound of at least 2 (one edit moves [`count_difference`] by at most
/// 2). Molecules are given with their canonical SMILES.
pub fn edits_apart(a: (&Molecule, &str), b: (&Molecule, &str)) -> usize {
    if a.1 == b.1 {
        return 0;
    }
    let counted = count_difference(a.0, b.0);
    // Only "is `y` among them" is asked, so the edits are applied directly,
    // without the canonical renumbering `single_edit_neighbours` dedupes by.
    let one_edit = |x: &Molecule, y: &str| {
        every_edit(x, &Element::ALL)
            .iter()
            .filter_map(|edit| edit.apply(x).ok())
            .any(|m| canonical_smiles(&m) == y)
    };
    if counted <= 2 && (one_edit(a.0, b.1) || one_edit(b.0, a.1)) {
        1
    } else {
        counted.div_ceil(2).max(2)
    }
}

/// The path from latent `za` to latent `zb` (each `latent` long).
/// `decode` turns `[n, latent]` row-major latents into `n` molecules;
/// `encode` turns molecules into their `[n, latent]` mean latents.
pub fn latent_path(
    za: &[f32],
    zb: &[f32],
    options: PathOptions,
    mut decode: impl FnMut(&[f32]) -> Vec<Molecule>,
    mut encode: impl FnMut(&[&Molecule]) -> Vec<f32>,
) -> Vec<PathStep> {
    let at = |t: f64| -> Vec<f32> {
        za.iter()
            .zip(zb)
            .map(|(x, y)| x + (y - x) * t as f32)
            .collect()
    };
    let mut decode_at = |ts: &[f64]| -> Vec<(f64, Molecule, String)> {
        let z: Vec<f32> = ts.iter().flat_map(|&t| at(t)).collect();
        ts.iter()
            .zip(decode(&z))
            .map(|(&t, m)| {
                let smiles = canonical_smiles(&m);
                (t, m, smiles)
            })
            .collect()
    };
    let steps = options.steps.max(2);
    let even: Vec<f64> = (0..steps).map(|i| i as f64 / (steps - 1) as f64).collect();
    let mut points = decode_at(&even);
    // Rounds ask again about the same neighbours; each answer costs two
    // molecules' worth of edits.
    let mut known: HashMap<(String, String), usize> = HashMap::new();
    let mut apart = |a: (&Molecule, &str), b: (&Molecule, &str)| -> usize {
        *known
            .entry((a.1.to_string(), b.1.to_string()))
            .or_insert_with(|| edits_apart(a, b))
    };
    let mut budget = options.max_decodes.saturating_sub(steps);
    while budget > 0 {
        let wide: Vec<usize> = (0..points.len() - 1)
            .filter(|&i| {
                let (x, y) = (&points[i], &points[i + 1]);
                y.0 - x.0 > MIN_SPACING && apart((&x.1, &x.2), (&y.1, &y.2)) > 1
            })
            .take(budget)
            .collect();
        if wide.is_empty() {
            break;
        }
        budget -= wide.len();
        let mids: Vec<f64> = wide
            .iter()
            .map(|&i| (points[i].0 + points[i + 1].0) / 2.0)
            .collect();
        points.extend(decode_at(&mids));
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    // Greedy decoding is not redrawn as sampling is, so a decoding between
    // the two ends may break a rule judged on the finished molecule (an
    // enol, a hemiaminal); the bridges, which pass only through molecules
    // that keep every rule, go around it. The two ends (t = 0 and t = 1,
    // decoded exactly there) stay.
    points.retain(|(t, molecule, _)| *t == 0.0 || *t == 1.0 || molecule.is_realistic());
    points.dedup_by(|later, earlier| later.2 == earlier.2);

    let mut path: Vec<PathStep> = Vec::with_capacity(points.len());
    for (t, molecule, smiles) in points {
        if let Some(before) = path.last()
            && options.bridge_edits > 0
            && apart((&before.molecule, &before.smiles), (&molecule, &smiles)) > 1
        {
            let t0 = before.t;
            let from = (&before.molecule, before.smiles.as_str());
            let to = (&molecule, smiles.as_str());
            // Edits are not all reversible (an atom put into a bond has no
            // inverse), so a bridge that fails forwards is tried backwards.
            let steps = bridge(from, to, options, &mut encode)
                .or_else(|| {
                    let mut back = bridge(to, from, options, &mut encode)?;
                    back.reverse();
                    Some(back)
                })
                .unwrap_or_default();
            let n = steps.len() + 1;
            for (k, (molecule, smiles)) in steps.into_iter().enumerate() {
                path.push(PathStep {
                    t: t0 + (t - t0) * (k + 1) as f64 / n as f64,
                    molecule,
                    smiles,
                    source: StepSource::Bridged,
                    edits: 1,
                });
            }
        }
        let edits = path.last().map_or(0, |before| {
            apart((&before.molecule, &before.smiles), (&molecule, &smiles))
        });
        path.push(PathStep {
            t,
            molecule,
            smiles,
            source: StepSource::Decoded,
            edits,
        });
    }
    without_loops(path)
}

/// The path with its loops cut out: where a molecule comes back (a bridge
/// may pass one an earlier bridge or decoding reached), the path goes on
/// from its first visit with what followed its last. Each step's `edits`
/// still holds, since it was counted from the same molecule.
fn without_loops(path: Vec<PathStep>) -> Vec<PathStep> {
    let mut kept: Vec<PathStep> = Vec::with_capacity(path.len());
    for step in path {
        match kept.iter().position(|s| s.smiles == step.smiles) {
            Some(first) => kept.truncate(first + 1),
            None => kept.push(step),
        }
    }
    kept
}

/// Single edits from `from` until `to` is one edit away, found best first:
/// the molecule expanded next is always the one, among all reached so far,
/// whose latent lies nearest `to`'s. While each step comes nearer this is the
/// greedy descent; where the greedy path would stall (no neighbour nearer)
/// it backs off to the next nearest molecule instead of giving up. `None`
/// when `bridge_expansions` molecules were expanded without arriving, or no
/// path within `bridge_edits` edits remains.
fn bridge(
    from: (&Molecule, &str),
    to: (&Molecule, &str),
    options: PathOptions,
    encode: &mut impl FnMut(&[&Molecule]) -> Vec<f32>,
) -> Option<Vec<(Molecule, String)>> {
    let (target, to) = (encode(&[to.0]), to.1);
    let distance =
        |z: &[f32]| -> f32 { z.iter().zip(&target).map(|(a, b)| (a - b) * (a - b)).sum() };
    // Every molecule reached, with the one it was reached from and its depth.
    let mut reached: Vec<Reached> = vec![Reached {
        molecule: from.0.clone(),
        smiles: from.1.to_string(),
        parent: None,
        depth: 0,
    }];
    let mut seen: HashSet<String> = HashSet::from([from.1.to_string()]);
    let mut frontier = BinaryHeap::from([Nearest {
        distance: distance(&encode(&[from.0])),
        index: 0,
    }]);
    for _ in 0..options.bridge_expansions {
        let Nearest { index, .. } = frontier.pop()?;
        let depth = reached[index].depth + 1;
        let mut candidates: Vec<(String, Molecule)> = Vec::new();
        for m in single_edit_neighbours(&reached[index].molecule, &Element::ALL, options.max_atoms)
        {
            let smiles = canonical_smiles(&m);
            if smiles == to {
                return Some(path_to(&reached, index));
            }
            // Past `bridge_edits`, a neighbour could not be part of a bridge.
            if depth < options.bridge_edits && seen.insert(smiles.clone()) {
                candidates.push((smiles, m));
            }
        }
        if candidates.is_empty() {
            continue;
        }
        let refs: Vec<&Molecule> = candidates.iter().map(|(_, m)| m).collect();
        let z = encode(&refs);
        for ((smiles, molecule), z) in candidates.into_iter().zip(z.chunks(target.len())) {
            frontier.push(Nearest {
                distance: distance(z),
                index: reached.len(),
            });
            reached.push(Reached {
                molecule,
                smiles,
                parent: Some(index),
                depth,
            });
        }
    }
    None
}

/// A molecule a bridge reached.
struct Reached {
    molecule: Molecule,
    smiles: String,
    parent: Option<usize>,
    depth: usize,
}

/// A frontier entry, ordered so that the heap pops the nearest first (and,
/// at equal distance, the one reached first, so the search is deterministic).
#[derive(PartialEq)]
struct Nearest {
    distance: f32,
    index: usize,
}

impl Eq for Nearest {}

impl Ord for Nearest {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .distance
            .total_cmp(&self.distance)
            .then(other.index.cmp(&self.index))
    }
}

impl PartialOrd for Nearest {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The molecules from the bridge's start (left out) to `last` (included).
fn path_to(reached: &[Reached], last: usize) -> Vec<(Molecule, String)> {
    let mut steps = Vec::new();
    let mut at = Some(last);
    while let Some(i) = at {
        if reached[i].parent.is_some() {
            steps.push((reached[i].molecule.clone(), reached[i].smiles.clone()));
        }
        at = reached[i].parent;
    }
    steps.reverse();
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::parse_smiles;

    fn apart(a: &str, b: &str) -> usize {
        let (x, y) = (parse_smiles(a).unwrap(), parse_smiles(b).unwrap());
        edits_apart((&x, &canonical_smiles(&x)), (&y, &canonical_smiles(&y)))
    }

    #[test]
    fn edits_apart_is_exact_at_one_and_a_lower_bound_above() {
        assert_eq!(apart("c1ccccc1", "C1=CC=CC=C1"), 0);
        assert_eq!(apart("CCO", "CCN"), 1);
        assert_eq!(apart("CCO", "CCCO"), 1);
        assert_eq!(apart("CCCC", "C1CCC1"), 1);
        // An atom put into a bond has no inverse edit: either direction counts.
        assert_eq!(apart("COC", "CC"), 1);
        assert_eq!(apart("CC", "COC"), 1);
        // Isomers: a bond broken and one made.
        assert_eq!(apart("CCCC", "CC(C)C"), 2);
        // Six carbons with their bonds apart: at least six edits.
        assert_eq!(apart("C", "CCCCCCC"), 6);
    }

    /// A stand-in latent: the heavy-atom count alone, so every isomer lies
    /// at the same distance and a greedy descent has nowhere nearer to go.
    fn size_only(molecules: &[&Molecule]) -> Vec<f32> {
        molecules
            .iter()
            .map(|m| m.heavy_atom_count() as f32)
            .collect()
    }

    fn bridged(a: &str, b: &str, expansions: usize) -> Option<Vec<String>> {
        let (x, y) = (parse_smiles(a).unwrap(), parse_smiles(b).unwrap());
        let options = PathOptions {
            bridge_expansions: expansions,
            ..PathOptions::refined(8, 9)
        };
        let (xs, ys) = (canonical_smiles(&x), canonical_smiles(&y));
        let steps = bridge((&x, &xs), (&y, &ys), options, &mut |m: &[&Molecule]| {
            size_only(m)
        })?;
        // Every step one edit from the one before, the last one edit from `b`.
        let mut before = (x.clone(), xs);
        for (m, s) in &steps {
            assert_eq!(edits_apart((&before.0, &before.1), (m, s)), 1, "{s}");
            before = (m.clone(), s.clone());
        }
        assert_eq!(edits_apart((&before.0, &before.1), (&y, &ys)), 1);
        Some(steps.into_iter().map(|(_, s)| s).collect())
    }

    #[test]
    fn loops_are_cut_out_of_a_path() {
        let step = |smiles: &str, edits: usize| PathStep {
            t: 0.0,
            molecule: parse_smiles(smiles).unwrap(),
            smiles: smiles.to_string(),
            source: StepSource::Bridged,
            edits,
        };
        let path = ["CC", "CCC", "CCCC", "CCC", "CCO", "CC", "CCN"];
        let kept: Vec<String> = without_loops(path.iter().map(|s| step(s, 1)).collect())
            .into_iter()
            .map(|s| s.smiles)
            .collect();
        assert_eq!(kept, ["CC", "CCN"]);
        let path = ["CC", "CCC", "CCCC", "CCC", "CCO"];
        let kept: Vec<String> = without_loops(path.iter().map(|s| step(s, 1)).collect())
            .into_iter()
            .map(|s| s.smiles)
            .collect();
        assert_eq!(kept, ["CC", "CCC", "CCO"]);
    }

    #[test]
    fn bridges_back_off_where_no_neighbour_comes_nearer() {
        // Butane to isobutane: no single edit keeps four atoms and arrives,
        // and no neighbour is nearer by size. A greedy descent stops at
        // once; best first goes on among the equally near ones.
        assert_eq!(bridged("CCCC", "CC(C)C", 1), None);
        let steps = bridged("CCCC", "CC(C)C", 48).expect("no bridge within 48 expansions");
        assert!(!steps.is_empty() && steps.len() < 16, "{steps:?}");
        // Deterministic: the same bridge each time.
        assert_eq!(bridged("CCCC", "CC(C)C", 48), Some(steps));
    }
}
