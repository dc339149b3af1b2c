//! Malformed and unsupported SMILES: each gets its own clear error, none panics.

use model_core::chem::{SmilesError, parse_smiles};

/// (input, what the error must be, a phrase its message must contain)
type Case<S> = (S, fn(&SmilesError) -> bool, &'static str);

fn cases() -> Vec<Case<String>> {
    let table: Vec<Case<&str>> = vec![
        ("", |e| matches!(e, SmilesError::Empty), "empty"),
        ("   ", |e| matches!(e, SmilesError::Empty), "empty"),
        (
            "C(C",
            |e| matches!(e, SmilesError::Syntax { .. }),
            "parenthes",
        ),
        (
            "CC)C",
            |e| matches!(e, SmilesError::Syntax { .. }),
            "position",
        ),
        (
            "C1CC",
            |e| matches!(e, SmilesError::Syntax { .. }),
            "ring closure 1",
        ),
        (
            "C%12CC",
            |e| matches!(e, SmilesError::Syntax { .. }),
            "ring closure",
        ),
        (
            "C=1CC#1",
            |e| matches!(e, SmilesError::Syntax { .. }),
            "conflicting",
        ),
        (
            "[Xx]",
            |e| matches!(e, SmilesError::Syntax { .. }),
            "position 1",
        ),
        (
            "CQ",
            |e| matches!(e, SmilesError::Syntax { .. }),
            "position 1",
        ),
        (
            "CCCl",
            |e| matches!(e, SmilesError::UnsupportedElement { .. }),
            "element Cl (atom 3, position 2)",
        ),
        (
            "[Si](C)C",
            |e| matches!(e, SmilesError::UnsupportedElement { .. }),
            "only C, N, O, F and H",
        ),
        (
            "C(C)(C)(C)(C)C",
            |e| matches!(e, SmilesError::Overvalent { .. }),
            "more than C allows (4)",
        ),
        (
            "CN(=C)=C",
            |e| matches!(e, SmilesError::Overvalent { .. }),
            "N allows (3)",
        ),
        (
            "FC(F)=F",
            |e| matches!(e, SmilesError::Overvalent { .. }),
            "F",
        ),
        (
            "[CH3]",
            |e| matches!(e, SmilesError::Radical { .. }),
            "radical",
        ),
        (
            "CC[O]",
            |e| matches!(e, SmilesError::Radical { .. }),
            "give valence 1, but O needs 2",
        ),
        (
            "[F-]",
            |e| matches!(e, SmilesError::UnsupportedCharge { .. }),
            "F may have charge 0",
        ),
        (
            "C[O+](C)C",
            |e| matches!(e, SmilesError::UnsupportedCharge { .. }),
            "O may have charge 0 or -1",
        ),
        (
            "[13CH4]",
            |e| matches!(e, SmilesError::Isotope { .. }),
            "isotope",
        ),
        (
            "*C",
            |e| matches!(e, SmilesError::Wildcard { .. }),
            "wildcard",
        ),
        (
            "C[C@H](O)N",
            |e| matches!(e, SmilesError::Stereo { .. }),
            "atom 2",
        ),
        (
            "CC.O",
            |e| matches!(e, SmilesError::Fragments { fragments: 2 }),
            "2 disconnected",
        ),
        (
            "c1cccc1",
            |e| matches!(e, SmilesError::Kekulize { .. }),
            "kekulized",
        ),
        (
            "[H][H]",
            |e| matches!(e, SmilesError::NoHeavyAtoms),
            "no heavy atoms",
        ),
        (
            "[H]C[H+]",
            |e| matches!(e, SmilesError::Hydrogen { .. }),
            "hydrogen atom 3 (position 4) is charged",
        ),
        (
            "[H]",
            |e| matches!(e, SmilesError::NoHeavyAtoms),
            "no heavy atoms",
        ),
        (
            "C=[H]",
            |e| matches!(e, SmilesError::Hydrogen { .. }),
            "multiple bond",
        ),
        (
            "C$C",
            |e| matches!(e, SmilesError::UnsupportedBond { .. }),
            "atoms 1 and 2",
        ),
        (
            "CC é",
            |e| matches!(e, SmilesError::NonAscii { .. }),
            "position 3",
        ),
        (
            "C\u{2013}C",
            |e| matches!(e, SmilesError::NonAscii { .. }),
            "not ASCII",
        ),
        (
            "CC O",
            |e| matches!(e, SmilesError::Whitespace { pos: 2 }),
            "whitespace",
        ),
        (
            "((C))",
            |e| matches!(e, SmilesError::Syntax { .. }),
            "position",
        ),
    ];
    let mut out: Vec<Case<String>> = table
        .into_iter()
        .map(|(s, m, p)| (s.to_string(), m, p))
        .collect();
    out.push((
        "C".repeat(10_000),
        |e| matches!(e, SmilesError::TooLong { len: 10_000, .. }),
        "10000 characters",
    ));
    out.push((
        "C".repeat(101),
        |e| matches!(e, SmilesError::TooManyAtoms { atoms: 101, .. }),
        "limit is 100",
    ));
    out
}

#[test]
fn every_bad_input_gets_its_own_clear_error() {
    let cases = cases();
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for (input, is_expected, phrase) in &cases {
        let shown: String = input.chars().take(24).collect();
        match parse_smiles(input) {
            Ok(m) => failures.push(format!("{shown:?} parsed as {}", m.formula())),
            Err(e) if !is_expected(&e) => {
                failures.push(format!("{shown:?}: unexpected error {e:?}"))
            }
            Err(e) if !e.to_string().contains(phrase) => failures.push(format!(
                "{shown:?}: message {:?} lacks {phrase:?}",
                e.to_string()
            )),
            Err(e) => println!("{shown:<26} {e}"),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
