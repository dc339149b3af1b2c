//! Our molecule as chematic's graph, the form chematic's SMILES writer,
//! sanitiser (aromaticity) and depiction read.

use chematic::core as cm;

use super::{BondOrder, Molecule};

/// Our molecule as a chematic graph in kekulé form; charged atoms are written
/// as bracket atoms with their hydrogens, neutral ones in the organic subset.
pub(crate) fn to_chematic(molecule: &Molecule) -> cm::Molecule {
    let mut builder =
        cm::MoleculeBuilder::with_capacity(molecule.heavy_atom_count(), molecule.bonds().len());
    for (i, atom) in molecule.atoms().iter().enumerate() {
        let element = cm::Element::from_symbol(atom.element.symbol()).expect("C, N, O, F exist");
        let chematic_atom = if atom.charge == 0 {
            cm::Atom::organic(element)
        } else {
            cm::Atom::bracket(
                element,
                None,
                cm::Chirality::None,
                molecule.hydrogens(i),
                atom.charge,
                None,
            )
        };
        builder.add_atom(chematic_atom);
    }
    for bond in molecule.bonds() {
        let order = match bond.order {
            BondOrder::Single => cm::BondOrder::Single,
            BondOrder::Double => cm::BondOrder::Double,
            BondOrder::Triple => cm::BondOrder::Triple,
        };
        builder
            .add_bond(cm::AtomIdx(bond.a), cm::AtomIdx(bond.b), order)
            .expect("bond indices were checked when the molecule was built");
    }
    builder.build()
}
