//! A randomised, non-canonical SMILES writer.
//!
//! It starts from a random atom, walks neighbours in random order and, at
//! random, spells atoms in brackets and single bonds explicitly. Every string
//! it writes is a valid SMILES of the same molecule, which is what the
//! canonicalisation checks and data augmentation need.

use super::{BondOrder, Molecule};
use crate::rng::SeededRng;

/// Writes a random SMILES of `molecule`, drawing every choice from `rng`.
pub fn write_random_smiles(molecule: &Molecule, rng: &mut SeededRng) -> String {
    let n = molecule.heavy_atom_count();
    let mut adjacency = molecule.adjacency();
    for neighbours in &mut adjacency {
        rng.shuffle(neighbours);
    }
    let style = Style {
        brackets: rng.below(4) == 0,
        explicit_single: rng.below(4) == 0,
    };
    let plan = Traversal::plan(&adjacency, rng.below(n));
    let mut out = String::with_capacity(4 * n);
    let mut writer = Writer {
        molecule,
        plan: &plan,
        style,
        out: &mut out,
        open_labels: Vec::new(),
        label_of: std::collections::HashMap::new(),
    };
    writer.write_atom(plan.root);
    out
}

#[derive(Clone, Copy)]
struct Style {
    brackets: bool,
    explicit_single: bool,
}

/// A depth-first spanning tree plus the ring-closure bonds it leaves over.
struct Traversal {
    root: usize,
    children: Vec<Vec<(usize, BondOrder)>>,
    /// Ring closures at each atom: (partner, order), in the order to write.
    closures: Vec<Vec<(usize, BondOrder)>>,
}

impl Traversal {
    fn plan(adjacency: &[Vec<(usize, BondOrder)>], root: usize) -> Traversal {
        let n = adjacency.len();
        let mut plan = Traversal {
            root,
            children: vec![Vec::new(); n],
            closures: vec![Vec::new(); n],
        };
        let mut visited = vec![false; n];
        let mut used = std::collections::HashSet::new();
        // Explicit stack of (atom, next neighbour index), to avoid deep recursion.
        let mut stack = vec![(root, 0usize)];
        visited[root] = true;
        while let Some(&mut (atom, ref mut next)) = stack.last_mut() {
            let Some(&(nb, order)) = adjacency[atom].get(*next) else {
                stack.pop();
                continue;
            };
            *next += 1;
            let key = (atom.min(nb), atom.max(nb));
            if !used.insert(key) {
                continue;
            }
            if visited[nb] {
                // `nb` is an ancestor still on the stack: a ring closes here.
                plan.closures[nb].push((atom, order));
                plan.closures[atom].push((nb, order));
            } else {
                visited[nb] = true;
                plan.children[atom].push((nb, order));
                stack.push((nb, 0));
            }
        }
        plan
    }
}

struct Writer<'a> {
    molecule: &'a Molecule,
    plan: &'a Traversal,
    style: Style,
    out: &'a mut String,
    /// Ring labels in use; index is label - 1.
    open_labels: Vec<bool>,
    /// Label of each open ring bond, keyed by (smaller atom, larger atom).
    label_of: std::collections::HashMap<(usize, usize), usize>,
}

impl Writer<'_> {
    fn write_atom(&mut self, atom: usize) {
        self.write_atom_token(atom);
        for &(partner, order) in &self.plan.closures[atom] {
            let key = (atom.min(partner), atom.max(partner));
            match self.label_of.remove(&key) {
                Some(label) => {
                    self.write_label(label);
                    self.open_labels[label - 1] = false;
                }
                None => {
                    let label = self.take_label();
                    self.write_bond(order);
                    self.write_label(label);
                    self.label_of.insert(key, label);
                }
            }
        }
        let children = &self.plan.children[atom];
        for (i, &(child, order)) in children.iter().enumerate() {
            let last = i + 1 == children.len();
            if !last {
                self.out.push('(');
            }
            self.write_bond(order);
            self.write_atom(child);
            if !last {
                self.out.push(')');
            }
        }
    }

    fn write_atom_token(&mut self, atom: usize) {
        let a = self.molecule.atoms()[atom];
        if a.charge == 0 && !self.style.brackets {
            self.out.push_str(a.element.symbol());
            return;
        }
        self.out.push('[');
        self.out.push_str(a.element.symbol());
        match self.molecule.hydrogens(atom) {
            0 => {}
            1 => self.out.push('H'),
            h => self.out.push_str(&format!("H{h}")),
        }
        match a.charge {
            0 => {}
            1 => self.out.push('+'),
            -1 => self.out.push('-'),
            c => self.out.push_str(&format!("{c:+}")),
        }
        self.out.push(']');
    }

    fn write_bond(&mut self, order: BondOrder) {
        if order == BondOrder::Single && self.style.explicit_single {
            self.out.push('-');
        } else {
            self.out.push_str(order.smiles_symbol());
        }
    }

    fn take_label(&mut self) -> usize {
        match self.open_labels.iter().position(|open| !open) {
            Some(i) => {
                self.open_labels[i] = true;
                i + 1
            }
            None => {
                self.open_labels.push(true);
                self.open_labels.len()
            }
        }
    }

    fn write_label(&mut self, label: usize) {
        if label < 10 {
            self.out.push(char::from(b'0' + label as u8));
        } else {
            self.out.push_str(&format!("%{label}"));
        }
    }
}
