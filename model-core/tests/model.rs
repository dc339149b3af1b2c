//! The untrained graph VAE already has the properties that matter by
//! construction: every sample is a valid molecule, a seed fixes the samples,
//! and weights survive a round trip through bytes (and fail loudly when damaged).

use burn::prelude::*;
use burn::tensor::{Bool, Int, TensorData};
use model_core::chem::structure::BondGraph;
use model_core::chem::{Molecule, canonical_smiles, parse_smiles};
use model_core::model::batch::{DecoderBatch, GraphBatch};
use model_core::model::dropout::StepDropout;
use model_core::model::prior::standard_normal_latents;
use model_core::model::sample::sample_prior;
use model_core::model::sample::{Choice, decode_latents};
use model_core::model::target::{DecodingTarget, decoding_target, decoding_target_in_order};
use model_core::model::tensor_read::floats;
use model_core::model::weights::{Precision, WeightsError, load_weights, save_weights};
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;

fn small() -> ModelConfig {
    ModelConfig {
        hidden: 32,
        latent: 8,
        layers: 2,
        max_atoms: 9,
        token_embedding: 8,
        ..ModelConfig::default()
    }
}

/// Weights file `bytes`, saved with `own` as its config, with `header` in its place.
fn with_header(bytes: &[u8], own: &ModelConfig, header: &ModelConfig) -> Vec<u8> {
    let own_len = serde_json::to_vec(own).unwrap().len();
    let json = serde_json::to_vec(header).unwrap();
    let mut spliced = bytes[..8].to_vec();
    spliced.extend_from_slice(&(json.len() as u32).to_le_bytes());
    spliced.extend_from_slice(&json);
    spliced.extend_from_slice(&bytes[12 + own_len..]);
    spliced
}

#[test]
fn samples_are_valid_and_fixed_by_the_seed() {
    let device = Device::flex();
    let config = small();
    let model = GraphVae::new(&config, &device);
    let a = sample_prior(&model, &config, 300, 7, 128, 1.0, &device);
    let b = sample_prior(&model, &config, 300, 7, 128, 1.0, &device);
    let c = sample_prior(&model, &config, 300, 8, 128, 1.0, &device);
    let smiles = |ms: &[Molecule]| ms.iter().map(canonical_smiles).collect::<Vec<_>>();
    assert_eq!(smiles(&a), smiles(&b));
    assert_ne!(smiles(&a), smiles(&c));
    for m in &a {
        assert!(m.heavy_atom_count() <= config.max_atoms);
        // Valence is `Molecule::new`'s own check, so restating it here could
        // not fail. What can: the structural rules, which only the decoder's
        // masks enforce, judged here on the finished graph; and the written
        // SMILES read back by the parser as the same molecule (formula and
        // canonical form), which catches hydrogens or charges the sampler
        // left implicit in a way the writer spells differently.
        let violations = BondGraph::of(m).violations();
        assert!(
            violations.is_empty(),
            "{}: {violations:?}",
            canonical_smiles(m)
        );
        let smiles = canonical_smiles(m);
        let again = parse_smiles(&smiles).unwrap();
        assert_eq!(again.formula(), m.formula(), "{smiles}");
        assert_eq!(canonical_smiles(&again), smiles);
    }
}

/// The model's loss on five real molecules, with latent noise drawn from `seed`.
fn loss_on_real_molecules(model: &GraphVae, config: &ModelConfig, seed: u64) -> f32 {
    let device = Device::flex();
    let molecules: Vec<_> = ["CCO", "c1ccccc1", "[NH3+]CC([O-])=O", "C", "N#CC1CC1O"]
        .iter()
        .map(|s| parse_smiles(s).unwrap())
        .collect();
    let refs: Vec<_> = molecules.iter().collect();
    let targets: Vec<_> = molecules
        .iter()
        .map(|m| decoding_target(m, 9).unwrap())
        .collect();
    let target_refs: Vec<_> = targets.iter().collect();
    let graphs = GraphBatch::new(&refs, &device);
    let decoding = DecoderBatch::new(&target_refs, 9, &device);
    let gaps = Tensor::<2>::zeros([5, 1], &device);
    let noise = standard_normal_latents(5, config.latent, &mut SeededRng::new(seed));
    let noise = Tensor::<2>::from_data(TensorData::new(noise, [5, config.latent]), &device);
    let loss = model.loss(&graphs, &decoding, gaps, noise, StepDropout::default());
    loss.total(1.0, 1.0).into_scalar::<f32>()
}

/// Teacher forcing scores only the bond decisions the masks leave open: one
/// with a single allowed choice has log-probability 0 whatever the logits.
#[test]
fn teacher_forcing_leaves_out_bond_decisions_with_one_allowed_choice() {
    let device = Device::flex();
    let molecules: Vec<_> = ["CC(F)(F)F", "O=C1CCC(=O)N1", "N#CC1CC1O", "CC1(C)OC1C#N"]
        .iter()
        .map(|s| parse_smiles(s).unwrap())
        .collect();
    let targets: Vec<_> = molecules
        .iter()
        .map(|m| decoding_target(m, 9).unwrap())
        .collect();
    let open = |b: &&model_core::model::target::BondDecision| {
        b.mask.iter().filter(|&&allowed| allowed).count() > 1
    };
    let all: usize = targets.iter().map(|t| t.bonds.len()).sum();
    let open_count: usize = targets
        .iter()
        .map(|t| t.bonds.iter().filter(open).count())
        .sum();
    assert!(
        open_count < all,
        "these molecules have forced decisions: {open_count} of {all}"
    );
    let refs: Vec<_> = targets.iter().collect();
    let batch = DecoderBatch::new(&refs, 9, &device);
    assert_eq!(batch.bond_target.dims()[0], open_count);
    let forbidden = batch
        .bond_forbidden
        .into_data()
        .try_to_vec::<bool>()
        .unwrap();
    for row in forbidden.chunks(4) {
        assert!(row.iter().filter(|&&f| !f).count() > 1, "{row:?}");
    }
}

#[test]
fn loss_is_finite_on_real_molecules() {
    let config = small();
    let model = GraphVae::new(&config, &Device::flex());
    let total = loss_on_real_molecules(&model, &config, 1);
    assert!(total.is_finite() && total > 0.0, "{total}");
    // The noise is the caller's: the same draw gives the same loss, another a different one.
    assert_eq!(
        total.to_bits(),
        loss_on_real_molecules(&model, &config, 1).to_bits()
    );
    assert_ne!(total, loss_on_real_molecules(&model, &config, 2));
}

#[test]
fn half_precision_weights_are_half_the_bytes_and_round_the_network_only_slightly() {
    let device = Device::flex();
    let config = ModelConfig {
        hidden: 64,
        ..small()
    };
    let model = GraphVae::new(&config, &device);
    let full = save_weights(&model, &config, Precision::Full);
    let half = save_weights(&model, &config, Precision::Half);
    assert!(
        (half.len() as f64) < 0.6 * full.len() as f64,
        "{} against {} bytes",
        half.len(),
        full.len()
    );
    let (rounded, rounded_config) = load_weights(&half, &device).unwrap();
    assert_eq!(rounded_config, config);
    // Rounded: not the same network, but f16's 11 bits keep its loss within a
    // hundredth; and rounding again changes nothing.
    assert_ne!(save_weights(&rounded, &config, Precision::Full), full);
    assert_eq!(save_weights(&rounded, &config, Precision::Half), half);
    let (exact, rounded) = (
        loss_on_real_molecules(&model, &config, 1),
        loss_on_real_molecules(&rounded, &config, 1),
    );
    assert!(
        ((exact - rounded) / exact).abs() < 0.01,
        "{exact} against {rounded}"
    );
}

#[test]
fn weights_round_trip_and_damage_is_reported() {
    let device = Device::flex();
    let config = small();
    let model = GraphVae::new(&config, &device);
    let bytes = save_weights(&model, &config, Precision::Full);
    let (loaded, loaded_config) = load_weights(&bytes, &device).unwrap();
    assert_eq!(loaded_config, config);
    let a = sample_prior(&model, &config, 50, 1, 50, 1.0, &device);
    let b = sample_prior(&loaded, &config, 50, 1, 50, 1.0, &device);
    assert_eq!(a, b);

    assert!(matches!(
        load_weights(b"hello", &device),
        Err(WeightsError::BadMagic(_))
    ));
    assert!(matches!(
        load_weights(&bytes[..20], &device),
        Err(WeightsError::Truncated(_))
    ));
    let mut flipped = bytes.clone();
    let at = flipped.len() - 100;
    flipped[at] ^= 0x55;
    assert!(matches!(
        load_weights(&flipped, &device),
        Err(WeightsError::Checksum)
    ));
    // A header naming another model size in front of these weights fails to load.
    let other = ModelConfig {
        hidden: 48,
        ..config.clone()
    };
    let mismatched = with_header(&bytes, &config, &other);
    let err = load_weights(&mismatched, &device).expect_err("mismatch detected");
    assert!(matches!(err, WeightsError::Mismatch(_)), "{err}");
}

#[test]
fn surrogate_weights_round_trip_and_are_not_confused_with_vae_weights() {
    use model_core::model::surrogate::{GapSurrogate, SurrogateConfig, predict_gaps_ev};
    use model_core::model::weights::{load_surrogate, save_surrogate};

    let device = Device::flex();
    let config = SurrogateConfig {
        hidden: 32,
        layers: 2,
        ..SurrogateConfig::default()
    };
    let model = GapSurrogate::new(&config, &device);
    let bytes = save_surrogate(&model, &config);
    let (loaded, loaded_config) = load_surrogate(&bytes, &device).unwrap();
    assert_eq!(loaded_config, config);
    let m = model_core::chem::parse_smiles("N#CC1CC1O").unwrap();
    assert_eq!(
        predict_gaps_ev(&model, &config, &[&m], &device),
        predict_gaps_ev(&loaded, &loaded_config, &[&m], &device)
    );
    // A VAE file is not a surrogate file, and the message says which was expected.
    let vae = save_weights(&GraphVae::new(&small(), &device), &small(), Precision::Full);
    let err = load_surrogate(&vae, &device).err().unwrap();
    assert!(err.to_string().contains("gap surrogate"), "{err}");
    let mut flipped = bytes.clone();
    let at = flipped.len() - 10;
    flipped[at] ^= 1;
    assert!(matches!(
        load_surrogate(&flipped, &device),
        Err(WeightsError::Checksum)
    ));
}

/// Latents `z` decoded, and the trajectories that built them: atoms stay in
/// the order they were added, so the identity order replays each molecule.
fn decoded_with_trajectories(
    model: &GraphVae,
    config: &ModelConfig,
    z: &[f32],
    how: Choice,
    rng: &mut SeededRng,
) -> (Vec<Molecule>, Vec<DecodingTarget>) {
    let molecules = decode_latents(
        model,
        z,
        config.latent,
        config.max_atoms,
        how,
        rng,
        &Device::flex(),
    );
    let targets = molecules
        .iter()
        .map(|m| {
            let order: Vec<usize> = (0..m.heavy_atom_count()).collect();
            decoding_target_in_order(m, &order, config.max_atoms).expect("replays")
        })
        .collect();
    (molecules, targets)
}

#[test]
fn sampled_trajectories_replay_and_their_log_probs_are_per_graph() {
    use model_core::model::sample::prior_latents;

    let device = Device::flex();
    let config = small();
    let model = GraphVae::new(&config, &device);
    let mut rng = SeededRng::new(11);
    let z = prior_latents(6, config.latent, &mut rng);
    let (molecules, targets) = decoded_with_trajectories(
        &model,
        &config,
        &z,
        Choice::Sample { temperature: 1.0 },
        &mut rng,
    );
    for (t, m) in targets.iter().zip(&molecules) {
        assert_eq!(canonical_smiles(&t.replay()), canonical_smiles(m));
    }
    let log_p = |indices: &[usize]| -> Vec<f32> {
        let refs: Vec<_> = indices.iter().map(|&i| &targets[i]).collect();
        let rows: Vec<f32> = indices
            .iter()
            .flat_map(|&i| z[i * config.latent..(i + 1) * config.latent].to_vec())
            .collect();
        let zt = Tensor::<2>::from_data(
            burn::tensor::TensorData::new(rows, [indices.len(), config.latent]),
            &device,
        );
        let batch = DecoderBatch::new(&refs, config.max_atoms, &device);
        model
            .trajectory_log_probs(zt, &batch)
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap()
    };
    let all = log_p(&[0, 1, 2, 3, 4, 5]);
    assert!(all.iter().all(|&l| l < 0.0 && l.is_finite()), "{all:?}");
    // Each graph's sum is its own: the same alone as in company.
    for (i, together) in all.iter().enumerate() {
        let alone = log_p(&[i])[0];
        assert!(
            (alone - together).abs() < 1e-3,
            "{i}: {alone} vs {together}"
        );
    }
}

/// The greedy choices of a decoder with the ring-closure adjustment, and the
/// teacher-forced logits of the trajectories they build, in a batch of
/// `count` latents.
fn greedy_and_teacher_forced(
    model: &GraphVae,
    config: &ModelConfig,
    count: usize,
) -> (Vec<Molecule>, DecoderBatch, Tensor<2>, Tensor<2>) {
    let device = Device::flex();
    let z = standard_normal_latents(count, config.latent, &mut SeededRng::new(3));
    let (molecules, targets) =
        decoded_with_trajectories(model, config, &z, Choice::Greedy, &mut SeededRng::new(4));
    let refs: Vec<_> = targets.iter().collect();
    let batch = DecoderBatch::new(&refs, config.max_atoms, &device);
    let zt = Tensor::<2>::from_data(TensorData::new(z, [count, config.latent]), &device);
    let (atoms, bonds) = model.decoder.forward(zt, &batch, None);
    (molecules, batch, atoms, bonds)
}

/// An integer tensor's values, read back.
fn ints(tensor: Tensor<1, Int>) -> Vec<i64> {
    tensor
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap()
}

/// Whether every row's target is its highest allowed logit (up to float
/// noise between sampling's fused recurrent step and teacher forcing's).
fn targets_ranked_first(
    logits: Tensor<2>,
    forbidden: Tensor<2, Bool>,
    target: Tensor<1, Int>,
) -> Vec<bool> {
    let width = logits.dims()[1];
    let logits = floats(logits);
    let forbidden = forbidden.into_data().try_to_vec::<bool>().unwrap();
    ints(target)
        .iter()
        .enumerate()
        .map(|(row, &t)| {
            let at = |k: usize| logits[row * width + k];
            (0..width)
                .filter(|&k| !forbidden[row * width + k])
                .all(|k| at(k) <= at(t as usize) + 1e-4)
        })
        .collect()
}

/// With the decoder's ring-closure adjustment, sampling reads the row of
/// the ring each bond would close as teacher forcing does: greedy decoding
/// takes, at every open decision, the choice its own trajectory's
/// teacher-forced logits rank first. On the shipped network, whose trained
/// adjustment differs from row to row and whose molecules have rings (a
/// fresh network's initial weights come from burn's one global generator,
/// which tests running beside each other share, so they are not fixed).
#[test]
fn greedy_decoding_and_teacher_forcing_read_the_same_ring_closures() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../public/weights.bin"
    ))
    .expect("the shipped weights");
    let (model, config) = load_weights(&bytes, &Device::flex()).unwrap();
    assert!(
        config.ring_closure,
        "the shipped network reads ring closures"
    );
    let (molecules, batch, atoms, bonds) = greedy_and_teacher_forced(&model, &config, 48);
    let rows = ints(batch.bond_ring.clone());
    let closing = rows.iter().filter(|&&r| r > 0).count();
    assert!(
        closing >= 20
            && molecules
                .iter()
                .any(|m| m.bonds().len() >= m.heavy_atom_count()),
        "{closing} decisions after a first bond: the test needs them, and rings"
    );
    let bond_ok = targets_ranked_first(
        bonds,
        batch.bond_forbidden.clone(),
        batch.bond_target.clone(),
    );
    let wrong: Vec<_> = bond_ok
        .iter()
        .enumerate()
        .filter(|(_, ok)| !**ok)
        .map(|(i, _)| (i, rows[i]))
        .collect();
    assert!(
        wrong.is_empty(),
        "bond decisions (row, ring row) greedy did not rank first: {wrong:?}"
    );
    let steps = floats(batch.atom_weight.clone());
    let atom_ok = targets_ranked_first(
        atoms,
        batch.atom_forbidden.clone(),
        batch.atom_target.clone(),
    );
    assert!(atom_ok.iter().zip(&steps).all(|(&ok, &w)| ok || w == 0.0));
}

/// A ring-closure adjustment added to a network trained without one starts
/// at zero: the loss and the greedy molecules are the network's own, and the
/// weights file carries it.
#[test]
fn a_ring_closure_adjustment_added_at_zero_changes_nothing() {
    let device = Device::flex();
    let config = small();
    let model = GraphVae::new(&config, &device);
    let mut with = model.clone();
    with.decoder = with.decoder.with_ring_closure(&device);
    assert_eq!(with.decoder.bond_logit_rows(), 8);
    assert_eq!(model.decoder.bond_logit_rows(), 1);
    let ringed = ModelConfig {
        ring_closure: true,
        ..config.clone()
    };
    assert_eq!(
        loss_on_real_molecules(&model, &config, 2),
        loss_on_real_molecules(&with, &ringed, 2)
    );
    let smiles = |m: &GraphVae, c: &ModelConfig| -> Vec<String> {
        greedy_and_teacher_forced(m, c, 32)
            .0
            .iter()
            .map(canonical_smiles)
            .collect()
    };
    assert_eq!(smiles(&model, &config), smiles(&with, &ringed));
    let bytes = save_weights(&with, &ringed, Precision::Full);
    let (loaded, loaded_config) = load_weights(&bytes, &device).unwrap();
    assert!(loaded_config.ring_closure);
    assert_eq!(loaded.decoder.bond_logit_rows(), 8);
    // Weights without it still write the config they always did.
    assert!(
        !String::from_utf8_lossy(&save_weights(&model, &config, Precision::Full))
            .contains("ring_closure")
    );
}

/// A fitted mixture prior travels in the weights file, fixes the samples by
/// seed, and conditions on a gap; N(0, I) weights refuse a gap target, and
/// a prior of the wrong size is refused when the weights load.
#[test]
fn a_mixture_prior_travels_with_the_weights_and_conditions_on_the_gap() {
    use model_core::model::prior::{LatentPrior, PriorError};
    use model_core::model::sample::{BatchRows, Lanes, Target, sample_batch};

    let device = Device::flex();
    let mut config = small();
    let model = GraphVae::new(&config, &device);
    assert!(matches!(
        sample_batch(
            &model,
            &config,
            1,
            BatchRows::whole(10),
            1.0,
            Target::GapEv(7.0),
            Lanes::ONE,
            &device,
        ),
        Err(PriorError::NoJointModel)
    ));
    // Latents whose first coordinate follows the standardised gap.
    let mut rng = SeededRng::new(2);
    let n = 600;
    let gaps: Vec<f32> = (0..n).map(|_| rng.unit_f64() as f32 * 4.0 - 2.0).collect();
    let latents: Vec<f32> = gaps
        .iter()
        .flat_map(|&g| {
            let mut z = vec![g * 3.0];
            z.extend((1..config.latent).map(|_| rng.unit_f64() as f32));
            z
        })
        .collect();
    let (prior, _) = LatentPrior::fit(&latents, &gaps, 4, 50, 0).unwrap();
    config.prior = prior;
    let bytes = save_weights(&model, &config, Precision::Full);
    let (loaded, loaded_config) = load_weights(&bytes, &device).unwrap();
    assert_eq!(loaded_config, config);
    let draw = |target| {
        sample_batch(
            &loaded,
            &loaded_config,
            5,
            BatchRows::whole(40),
            1.0,
            target,
            Lanes::ONE,
            &device,
        )
    };
    assert_eq!(draw(Target::Prior).unwrap(), draw(Target::Prior).unwrap());
    // Conditioning moves z's first coordinate to 3 x the standardised target.
    let standardised = 1.5;
    let target_ev = standardised * config.gap_std_ev + config.gap_mean_ev;
    let z = config
        .prior
        .sample_given_gap(400, standardised, &mut SeededRng::new(1))
        .unwrap();
    let first: f64 = z.chunks(config.latent).map(|r| r[0] as f64).sum::<f64>() / 400.0;
    assert!((first - 4.5).abs() < 0.3, "{first}");
    assert!(draw(Target::GapEv(target_ev)).is_ok());

    let wrong = ModelConfig {
        latent: config.latent + 1,
        ..config.clone()
    };
    let mut header = wrong.clone();
    header.prior = config.prior.clone();
    let bad = with_header(&bytes, &config, &header);
    let err = load_weights(&bad, &device).expect_err("prior size checked");
    assert!(err.to_string().contains("dimensions"), "{err}");
    let _ = PriorError::NoJointModel;
}

#[test]
fn lanes_and_threads_do_not_change_the_molecules_or_the_draws() {
    use model_core::model::sample::{Choice, Lanes, decode_latents_in_lanes, prior_latents};

    let device = Device::flex();
    let config = small();
    let model = GraphVae::new(&config, &device);
    let z = prior_latents(40, config.latent, &mut SeededRng::new(3));
    let decode = |seed: u64, lanes: Lanes, how: Choice| {
        let mut rng = SeededRng::new(seed);
        let molecules = decode_latents_in_lanes(
            &model,
            &z,
            config.latent,
            config.max_atoms,
            how,
            &mut rng,
            lanes,
            &device,
        );
        let smiles: Vec<String> = molecules.iter().map(canonical_smiles).collect();
        (smiles, rng.next_u64())
    };
    let sample = Choice::Sample { temperature: 1.0 };
    for how in [sample, Choice::Greedy] {
        let whole = decode(5, Lanes::ONE, how);
        for (threads, max_rows) in [(1, 7), (3, 7), (2, 20), (4, 1)] {
            assert_eq!(
                decode(5, Lanes { threads, max_rows }, how),
                whole,
                "{threads} threads, lanes of {max_rows}, {how:?}"
            );
        }
    }
    // The draws are the molecules' own: another generator gives others.
    assert_ne!(
        decode(6, Lanes::ONE, sample).0,
        decode(5, Lanes::ONE, sample).0
    );
}

/// A sample that breaks a rule only the finished molecule can be judged by
/// is drawn again: an untrained decoder builds hemiaminals and acyclic N–N
/// bonds freely, yet every sample comes back realistic, as many as asked
/// for, and the same for the same seed.
#[test]
fn samples_breaking_a_finished_molecule_rule_are_drawn_again() {
    use model_core::model::sample::{
        BatchRows, Choice, Lanes, Target, decode_latents, sample_batch,
    };

    let device = Device::flex();
    let config = small();
    let model = GraphVae::new(&config, &device);
    let n = 200;
    let mut rng = SeededRng::new(3);
    let z = standard_normal_latents(n, config.latent, &mut rng);
    let first_draw = decode_latents(
        &model,
        &z,
        config.latent,
        config.max_atoms,
        Choice::Sample { temperature: 1.0 },
        &mut rng,
        &device,
    );
    let breaking = first_draw.iter().filter(|m| !m.is_realistic()).count();
    assert!(breaking > 10, "only {breaking} of {n} to draw again");
    let draw = || {
        sample_batch(
            &model,
            &config,
            3,
            BatchRows::whole(n),
            1.0,
            Target::Prior,
            Lanes::ONE,
            &device,
        )
        .unwrap()
    };
    let samples = draw();
    assert_eq!(samples.len(), n);
    for s in &samples {
        let m = &s.molecule;
        assert_eq!(m.structural_violations(), [], "{}", canonical_smiles(m));
    }
    assert_eq!(samples, draw());
}

#[test]
fn a_critic_travels_in_the_weights_and_resamples_unconditional_draws_only() {
    use model_core::model::critic::{Dense, PriorCritic};
    use model_core::model::sample::unconditional_latents;

    let device = Device::flex();
    let plain = small();
    let model = GraphVae::new(&plain, &device);
    // A critic preferring a large first coordinate: logit 2 z₀.
    let critic = |latent: usize| {
        let mut weights = vec![0.0; latent];
        weights[0] = 2.0;
        PriorCritic {
            candidates: 8,
            shift: vec![0.0; latent],
            scale: vec![1.0; latent],
            layers: vec![Dense {
                inputs: latent,
                outputs: 1,
                weights,
                biases: vec![0.0],
            }],
        }
    };
    let config = ModelConfig {
        critic: Some(critic(plain.latent)),
        ..plain.clone()
    };
    let bytes = save_weights(&model, &config, Precision::Full);
    let (loaded, loaded_config) = load_weights(&bytes, &device).unwrap();
    assert_eq!(loaded_config, config);

    let first_mean = |config: &ModelConfig| {
        let z = unconditional_latents(config, 2000, &mut SeededRng::new(4));
        z.chunks(config.latent).map(|r| r[0] as f64).sum::<f64>() / 2000.0
    };
    assert!(first_mean(&plain).abs() < 0.1);
    assert!(
        first_mean(&loaded_config) > 1.0,
        "{}",
        first_mean(&loaded_config)
    );
    let a = sample_prior(&loaded, &loaded_config, 60, 3, 60, 1.0, &device);
    assert_eq!(
        a,
        sample_prior(&loaded, &loaded_config, 60, 3, 60, 1.0, &device)
    );
    assert_ne!(a, sample_prior(&model, &plain, 60, 3, 60, 1.0, &device));

    // A critic for another latent size is refused when the weights load.
    let wrong = ModelConfig {
        critic: Some(critic(plain.latent + 1)),
        ..plain.clone()
    };
    let bad = with_header(&bytes, &config, &wrong);
    let err = load_weights(&bad, &device).expect_err("the critic's size is checked");
    assert!(err.to_string().contains("critic"), "{err}");
}

#[test]
fn carried_exemplars_travel_in_the_weights_and_are_what_the_prior_draws() {
    use model_core::model::carried_exemplars::CarriedExemplars;
    use model_core::model::posterior::Posteriors;
    use model_core::model::sample::{BatchRows, Target, first_latents};

    let device = Device::flex();
    let plain = small();
    let model = GraphVae::new(&plain, &device);
    // Three exemplars far from N(0, I): first coordinate 40, 50 and 60.
    let latent = plain.latent;
    let mut mean = vec![0.0; 3 * latent];
    for (i, row) in mean.chunks_mut(latent).enumerate() {
        row[0] = 40.0 + 10.0 * i as f32;
    }
    let posteriors = Posteriors::from_parts(mean, vec![0.1; 3 * latent], latent).unwrap();
    let config = ModelConfig {
        exemplars: Some(CarriedExemplars::new(&posteriors, 2.0).unwrap()),
        ..plain.clone()
    };
    let bytes = save_weights(&model, &config, Precision::Full);
    let (loaded, loaded_config) = load_weights(&bytes, &device).unwrap();
    assert_eq!(loaded_config, config);

    let rows = BatchRows::whole(300);
    let firsts = |target| -> Vec<f32> {
        let z = first_latents(&loaded_config, 7, rows, target).unwrap();
        z.chunks(latent).map(|r| r[0]).collect()
    };
    // The prior deals the three exemplars alike (their means rounded to
    // the grid, within 2.2 of where they were), each widened to spread 0.2.
    let exemplars = loaded_config.exemplars.as_ref().unwrap();
    let centres: Vec<f32> = exemplars
        .posteriors()
        .means()
        .chunks(latent)
        .map(|r| r[0])
        .collect();
    for (centre, was) in centres.iter().zip([40.0, 50.0, 60.0]) {
        assert!((centre - was).abs() < 2.2, "{centre} for {was}");
    }
    let from_prior = firsts(Target::Prior);
    for centre in centres {
        let near: Vec<f32> = from_prior
            .iter()
            .copied()
            .filter(|v| (v - centre).abs() < 1.5)
            .collect();
        assert_eq!(near.len(), 100, "exemplar at {centre}");
        let sd = (near.iter().map(|v| (v - centre).powi(2)).sum::<f32>() / 100.0).sqrt();
        assert!((0.15..0.25).contains(&sd), "spread {sd} around {centre}");
    }
    // The mixture (here N(0, I)) is still there to be asked for.
    let from_mixture = firsts(Target::Mixture);
    assert!(from_mixture.iter().all(|v| v.abs() < 6.0));
    let a = sample_prior(&loaded, &loaded_config, 60, 3, 60, 1.0, &device);
    assert_eq!(
        a,
        sample_prior(&loaded, &loaded_config, 60, 3, 60, 1.0, &device)
    );
    assert_ne!(a, sample_prior(&model, &plain, 60, 3, 60, 1.0, &device));

    // Exemplars for another latent size are refused when the weights load.
    let other = Posteriors::from_parts(vec![0.0; latent + 1], vec![1.0; latent + 1], latent + 1);
    let wrong = ModelConfig {
        exemplars: Some(CarriedExemplars::new(&other.unwrap(), 2.0).unwrap()),
        ..plain.clone()
    };
    let bad = with_header(&bytes, &config, &wrong);
    let err = load_weights(&bad, &device).expect_err("the exemplars' size is checked");
    assert!(err.to_string().contains("exemplars"), "{err}");
}

#[test]
fn gap_guidance_keeps_the_nearest_distinct_molecules_and_ranks_distrusted_ones_last() {
    use model_core::model::sample::{Sample, nearest_to_gap, nearest_to_gap_trusting};
    let candidate = |smiles: &str| Sample {
        molecule: parse_smiles(smiles).unwrap(),
        predicted_gap_ev: 0.0,
    };
    // A predictor that reads each molecule's heavy-atom count as its gap.
    let by_size = |ms: &[&model_core::chem::Molecule]| -> Vec<f64> {
        ms.iter().map(|m| m.atoms().len() as f64).collect()
    };
    let candidates = || {
        ["CCCC", "C1CC1", "CCC", "CC", "OCC", "C1CCC1", "CCCCC"]
            .map(candidate)
            .to_vec()
    };
    let smiles = |kept: &[Sample]| -> Vec<String> {
        kept.iter().map(|s| canonical_smiles(&s.molecule)).collect()
    };
    let canon = |all: &[&str]| -> Vec<String> {
        all.iter()
            .map(|s| canonical_smiles(&parse_smiles(s).unwrap()))
            .collect()
    };
    // Target 3: the three-atom molecules, distinct by canonical SMILES, in
    // the order drawn, each carrying its predicted gap.
    let kept = nearest_to_gap(candidates(), by_size, 3.0, 3);
    assert_eq!(smiles(&kept), canon(&["C1CC1", "CCC", "OCC"]));
    assert!(kept.iter().all(|s| s.predicted_gap_ev == 3.0));
    // Rings distrusted: the acyclic molecules nearest the target come first,
    // and a ring is kept only where too few acyclic ones were drawn.
    let acyclic = |m: &model_core::chem::Molecule| m.bonds().len() < m.atoms().len();
    let kept = nearest_to_gap_trusting(candidates(), by_size, acyclic, 3.0, 3);
    assert_eq!(smiles(&kept), canon(&["CCCC", "CCC", "OCC"]));
    let kept = nearest_to_gap_trusting(candidates(), by_size, acyclic, 3.0, 6);
    assert_eq!(
        smiles(&kept),
        canon(&["CCCC", "C1CC1", "CCC", "CC", "OCC", "CCCCC"])
    );
    // Duplicates by canonical SMILES count once.
    let twice = [candidate("OCC"), candidate("CCO")].to_vec();
    assert_eq!(nearest_to_gap(twice, by_size, 3.0, 2).len(), 1);
}
