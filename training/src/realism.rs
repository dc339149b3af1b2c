//! Realism figures for `trainer evaluate`: how many molecules break each of
//! `model_core`'s structural rules, and how many RDKit can embed in 3D
//! (ETKDGv3), each for the samples and for QM9 itself.
//!
//! The rule counts read the decoded molecules again, independently of the
//! decoder's masks; the embedding is RDKit's own judgement of whether a
//! graph has a geometry at all.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use model_core::chem::{Molecule, STRUCTURAL_RULES};
use serde::Serialize;

/// Share of molecules breaking each rule (by rule id), and any rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleShares {
    pub by_rule: BTreeMap<&'static str, f64>,
    pub any: f64,
}

pub fn rule_shares(molecules: &[&Molecule]) -> RuleShares {
    let mut counts: BTreeMap<&'static str, usize> =
        STRUCTURAL_RULES.iter().map(|r| (r.id(), 0)).collect();
    let mut any = 0;
    for m in molecules {
        let mut broken: Vec<&'static str> = m
            .structural_violations()
            .iter()
            .map(|v| v.rule.id())
            .collect();
        broken.dedup();
        any += usize::from(!broken.is_empty());
        for id in broken {
            *counts.get_mut(id).expect("every rule is counted") += 1;
        }
    }
    let n = molecules.len().max(1) as f64;
    RuleShares {
        by_rule: counts
            .into_iter()
            .map(|(id, c)| (id, c as f64 / n))
            .collect(),
        any: any as f64 / n,
    }
}

/// Every `len / n`-th item, so a subset spans the whole list (QM9's order
/// follows molecule size).
pub fn spread<T: Clone>(items: &[T], n: usize) -> Vec<T> {
    if items.len() <= n {
        return items.to_vec();
    }
    (0..n).map(|i| items[i * items.len() / n].clone()).collect()
}

const EMBED_SCRIPT: &str = r#"
import sys
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem
RDLogger.DisableLog("rdApp.*")
seed = int(sys.argv[1])
ok = 0
lines = [l.strip() for l in sys.stdin if l.strip()]
for smiles in lines:
    m = Chem.MolFromSmiles(smiles)
    if m is None:
        continue
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    ok += AllChem.EmbedMolecule(Chem.AddHs(m), params) == 0
print(ok, len(lines))
"#;

/// Share of `smiles` that RDKit embeds in 3D with ETKDGv3 (one attempt each, seeded).
pub fn embeddable_share(python: &Path, smiles: &[String], seed: u64) -> Result<f64> {
    let input = smiles.join("\n");
    let out = crate::python::run_script_with_input(
        python,
        EMBED_SCRIPT,
        &[&seed.to_string()],
        &input,
    )
    .context(
        "3D embedding with RDKit (give a Python with RDKit as --python, or skip it with --embed 0)",
    )?;
    let mut fields = out.split_whitespace().map(str::parse::<usize>);
    match (fields.next(), fields.next()) {
        (Some(Ok(ok)), Some(Ok(total))) if total == smiles.len() => {
            Ok(ok as f64 / total.max(1) as f64)
        }
        _ => anyhow::bail!("unexpected output from the embedding script: {out:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model_core::chem::parse_smiles;

    #[test]
    fn shares_count_each_rule_once_per_molecule() {
        let smiles = ["CC1=CC1", "C1=CC1C1=CC1", "COOC", "CCO"];
        let molecules: Vec<Molecule> = smiles.iter().map(|s| parse_smiles(s).unwrap()).collect();
        let refs: Vec<&Molecule> = molecules.iter().collect();
        let shares = rule_shares(&refs);
        assert_eq!(shares.by_rule["small_ring_multiple_bond"], 0.5);
        assert_eq!(shares.by_rule["oxygen_oxygen_bond"], 0.25);
        assert_eq!(shares.by_rule["anti_bredt_double_bond"], 0.0);
        assert_eq!(shares.any, 0.75);
    }

    #[test]
    fn spread_spans_the_list() {
        let items: Vec<usize> = (0..10).collect();
        assert_eq!(spread(&items, 3), [0, 3, 6]);
        assert_eq!(spread(&items, 20).len(), 10);
    }
}
