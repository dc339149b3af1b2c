//! The structural rules judged on the whole molecule: the graph's rules
//! ([`BondGraph::violations`]) and those [judged on the finished
//! molecule](StructuralRule::judged_on_finished_molecule), which read its
//! hydrogens, charges and aromaticity.

use super::aromaticity::aromatic_atoms;
use super::structure::{BondGraph, StructuralRule, Violation};
use super::{BondOrder, Element, Molecule};

impl Molecule {
    /// Every place this molecule breaks a structural rule (for a net charge,
    /// its charged atoms), in [`STRUCTURAL_RULES`] order.
    pub fn structural_violations(&self) -> Vec<Violation> {
        let graph = BondGraph::of(self);
        let mut found = graph.violations();
        found.extend(self.finished_violations(&graph));
        found.sort_by_key(|v| v.rule);
        found
    }

    /// Whether the molecule breaks no structural rule.
    pub fn is_realistic(&self) -> bool {
        let graph = BondGraph::of(self);
        graph.obeys_rules() && self.finished_violations(&graph).is_empty()
    }

    /// The violations of the rules [judged on the finished
    /// molecule](StructuralRule::judged_on_finished_molecule); `graph` is
    /// this molecule's.
    fn finished_violations(&self, graph: &BondGraph) -> Vec<Violation> {
        let adjacency = self.adjacency();
        let element = |atom: usize| self.atoms()[atom].element;
        let all_single = |atom: usize| adjacency[atom].iter().all(|(_, o)| *o == BondOrder::Single);
        let mut found = Vec::new();
        for (atom, neighbours) in adjacency.iter().enumerate() {
            if element(atom) != Element::C || !all_single(atom) {
                continue;
            }
            let hetero: Vec<usize> = neighbours
                .iter()
                .map(|&(n, _)| n)
                .filter(|&n| element(n) != Element::C)
                .collect();
            // An N, or an O with one heavy neighbour (a hydroxyl or alkoxide).
            let labile = |n: usize| {
                element(n) == Element::N || (element(n) == Element::O && adjacency[n].len() == 1)
            };
            if hetero.len() >= 2 && hetero.iter().any(|&n| labile(n)) {
                let mut atoms = vec![atom];
                atoms.extend(hetero);
                found.push(Violation {
                    rule: StructuralRule::GeminalHeteroatoms,
                    atoms,
                });
            }
        }
        for bond in self.bonds() {
            let (a, b) = (bond.a as usize, bond.b as usize);
            if element(a) == Element::N
                && element(b) == Element::N
                && graph.smallest_ring_through_bond(a, b).is_none()
            {
                found.push(Violation {
                    rule: StructuralRule::AcyclicNitrogenNitrogenBond,
                    atoms: vec![a, b],
                });
            }
            for (n, o) in [(a, b), (b, a)] {
                if element(n) == Element::N
                    && element(o) == Element::O
                    && self.atoms()[n].charge == 0
                    && all_single(n)
                {
                    found.push(Violation {
                        rule: StructuralRule::SaturatedNitrogenOxygenBond,
                        atoms: vec![n, o],
                    });
                }
            }
            if bond.order != BondOrder::Double || graph.smallest_ring_through_bond(a, b).is_some() {
                continue;
            }
            for (carbon, partner) in [(a, b), (b, a)] {
                if element(carbon) != Element::C {
                    continue;
                }
                // On a C=C any N or O; on a C=N an OH (or O⁻) only: amidines
                // and amides are fine.
                let bad = |n: usize| match (element(partner), element(n)) {
                    (Element::C, Element::N | Element::O) => true,
                    (Element::N, Element::O) => adjacency[n].len() == 1,
                    _ => false,
                };
                for &(n, order) in &adjacency[carbon] {
                    if n != partner && order == BondOrder::Single && bad(n) {
                        found.push(Violation {
                            rule: StructuralRule::HeteroatomOnAcyclicAlkene,
                            atoms: vec![n, carbon, partner],
                        });
                    }
                }
            }
        }
        found.extend(self.non_aromatic_violations(graph, &adjacency));
        if self.net_charge() != 0 {
            found.push(Violation {
                rule: StructuralRule::NetCharge,
                atoms: self.charged_atoms(),
            });
        }
        found
    }

    /// The violations of the three rules that need aromaticity. Perception
    /// costs more than the rest of the rules together, so it runs only for
    /// a molecule holding a candidate group.
    fn non_aromatic_violations(
        &self,
        graph: &BondGraph,
        adjacency: &[Vec<(usize, BondOrder)>],
    ) -> Vec<Violation> {
        let element = |atom: usize| self.atoms()[atom].element;
        let hydroxyl = |o: usize| element(o) == Element::O && adjacency[o].len() == 1;
        let mut candidates = Vec::new();
        for bond in self.bonds() {
            let (a, b) = (bond.a as usize, bond.b as usize);
            let in_ring = || graph.smallest_ring_through_bond(a, b).is_some();
            if element(a) == Element::N && element(b) == Element::N && in_ring() {
                let rule = StructuralRule::NonAromaticRingNitrogenNitrogenBond;
                candidates.push((
                    (a, b),
                    Violation {
                        rule,
                        atoms: vec![a, b],
                    },
                ));
            }
            if bond.order != BondOrder::Double {
                continue;
            }
            let ring = in_ring();
            for (carbon, partner) in [(a, b), (b, a)] {
                if element(carbon) != Element::C {
                    continue;
                }
                for &(n, order) in &adjacency[carbon] {
                    if order != BondOrder::Single {
                        continue;
                    }
                    let rule = if element(n) == Element::F {
                        StructuralRule::FluorineOnNonAromaticDoubleBond
                    } else if ring && hydroxyl(n) {
                        StructuralRule::RingEnol
                    } else {
                        continue;
                    };
                    let atoms = vec![n, carbon, partner];
                    candidates.push(((a, b), Violation { rule, atoms }));
                }
            }
        }
        if candidates.is_empty() {
            return Vec::new();
        }
        let aromatic = aromatic_atoms(self);
        // A candidate stands where its bond is not aromatic.
        candidates
            .into_iter()
            .filter(|&((a, b), _)| !(aromatic[a] && aromatic[b]))
            .map(|(_, violation)| violation)
            .collect()
    }

    fn charged_atoms(&self) -> Vec<usize> {
        let atoms = self.atoms().iter().enumerate();
        atoms
            .filter(|(_, a)| a.charge != 0)
            .map(|(i, _)| i)
            .collect()
    }
}
