//! Tests of the RFC 9162 Merkle tree module: known answers, plans against a naive implementation
//! written straight from RFC 9162 §2.1, compact ranges, and properties of proof verification.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use amanah_audit::merkle::{
    CompactRange, Hash, NodeId, PeakCountError, ProofError, consistency_plan, empty_root, frontier,
    inclusion_plan, leaf_hash, node_hash, root_from_inclusion_proof, root_plan, verify_consistency,
    verify_inclusion,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn hash_hex(text: &str) -> Hash {
    hex(text).try_into().unwrap()
}

// ---------------------------------------------------------------------------------------------
// A naive implementation, straight from RFC 9162 §2.1, over leaf hashes.
// ---------------------------------------------------------------------------------------------

/// The largest power of two smaller than `n` (`n > 1`).
fn naive_k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// `MTH(D[n])` (§2.1.1), given the leaf hashes.
fn naive_mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => Sha256::digest(b"").into(),
        1 => d[0],
        n => {
            let k = naive_k(n);
            node_hash(&naive_mth(&d[..k]), &naive_mth(&d[k..]))
        }
    }
}

/// `PATH(m, D[n])` (§2.1.3.1).
fn naive_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n == 1 {
        return Vec::new();
    }
    let k = naive_k(n);
    if m < k {
        let mut path = naive_path(m, &d[..k]);
        path.push(naive_mth(&d[k..]));
        path
    } else {
        let mut path = naive_path(m - k, &d[k..]);
        path.push(naive_mth(&d[..k]));
        path
    }
}

/// `PROOF(m, D[n])` (§2.1.4.1).
fn naive_proof(m: usize, d: &[Hash]) -> Vec<Hash> {
    naive_subproof(m, d, true)
}

fn naive_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { Vec::new() } else { vec![naive_mth(d)] };
    }
    let k = naive_k(n);
    if m <= k {
        let mut proof = naive_subproof(m, &d[..k], b);
        proof.push(naive_mth(&d[k..]));
        proof
    } else {
        let mut proof = naive_subproof(m - k, &d[k..], false);
        proof.push(naive_mth(&d[..k]));
        proof
    }
}

// ---------------------------------------------------------------------------------------------
// A node store as a log would keep it, filled from `CompactRange::append`.
// ---------------------------------------------------------------------------------------------

struct Store {
    levels: Vec<Vec<Hash>>,
    leaves: Vec<Hash>,
}

impl Store {
    fn new(leaves: Vec<Hash>) -> Self {
        let mut range = CompactRange::new();
        let mut levels: Vec<Vec<Hash>> = Vec::new();
        for leaf in &leaves {
            for (id, hash) in range.append(*leaf) {
                let level = id.level as usize;
                if levels.len() <= level {
                    levels.push(Vec::new());
                }
                assert_eq!(levels[level].len() as u64, id.index, "nodes come in order");
                levels[level].push(hash);
            }
        }
        Self { levels, leaves }
    }

    fn get(&self, id: NodeId) -> Option<Hash> {
        self.levels
            .get(id.level as usize)?
            .get(usize::try_from(id.index).ok()?)
            .copied()
    }

    /// A node, but only if it lies entirely within the first `size` leaves.
    fn get_within(&self, id: NodeId, size: u64) -> Option<Hash> {
        if (id.index + 1) << id.level > size {
            return None;
        }
        self.get(id)
    }

    fn root(&self, size: u64) -> Hash {
        let plan = root_plan(size);
        let hashes = plan.assemble(|id| self.get_within(id, size)).unwrap();
        assert_eq!(hashes.len(), 1);
        hashes[0]
    }

    fn inclusion(&self, index: u64, size: u64) -> Vec<Hash> {
        let plan = inclusion_plan(index, size).unwrap();
        plan.assemble(|id| self.get_within(id, size)).unwrap()
    }

    fn consistency(&self, size1: u64, size2: u64) -> Vec<Hash> {
        let plan = consistency_plan(size1, size2).unwrap();
        plan.assemble(|id| self.get_within(id, size2)).unwrap()
    }
}

fn leaves(count: usize, salt: u64) -> Vec<Hash> {
    (0..count)
        .map(|i| leaf_hash(format!("leaf {salt} {i}").as_bytes()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Known answers (audit-log.md §2).
// ---------------------------------------------------------------------------------------------

fn standard_leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|h| hex(h))
    .collect()
}

#[test]
fn known_answer_empty_root() {
    assert_eq!(
        empty_root(),
        hash_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(CompactRange::new().root(), empty_root());
    let plan = root_plan(0);
    assert!(plan.nodes().is_empty());
    assert_eq!(plan.assemble(|_| None), Some(vec![empty_root()]));
}

#[test]
fn known_answer_empty_leaf() {
    assert_eq!(
        leaf_hash(b""),
        hash_hex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    );
}

#[test]
fn known_answer_hash_leaf_and_children() {
    assert_eq!(
        leaf_hash(b"L123456"),
        hash_hex("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
    );
    // node_hash takes 32-byte children; check the domain separation with a raw SHA-256 too.
    let raw: Hash = Sha256::digest(b"\x01N123N456").into();
    assert_eq!(
        raw,
        hash_hex("aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb")
    );
    let (left, right) = ([7u8; 32], [9u8; 32]);
    let mut manual = vec![1u8];
    manual.extend_from_slice(&left);
    manual.extend_from_slice(&right);
    let manual: Hash = Sha256::digest(&manual).into();
    assert_eq!(node_hash(&left, &right), manual);
}

#[test]
fn known_answer_standard_tree_roots() {
    let hashes: Vec<Hash> = standard_leaves().iter().map(|l| leaf_hash(l)).collect();
    let root8 = hash_hex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
    let root3 = hash_hex("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77");
    assert_eq!(naive_mth(&hashes), root8);
    assert_eq!(naive_mth(&hashes[..3]), root3);

    let mut range = CompactRange::new();
    for (i, leaf) in hashes.iter().enumerate() {
        range.push(*leaf);
        if i == 2 {
            assert_eq!(range.root(), root3);
        }
    }
    assert_eq!(range.root(), root8);

    let store = Store::new(hashes);
    assert_eq!(store.root(8), root8);
    assert_eq!(store.root(3), root3);
}

#[test]
fn known_answer_standard_tree_proofs_verify() {
    let hashes: Vec<Hash> = standard_leaves().iter().map(|l| leaf_hash(l)).collect();
    let root8 = hash_hex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
    let root3 = hash_hex("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77");
    let store = Store::new(hashes.clone());
    for index in 0..8 {
        let proof = store.inclusion(index, 8);
        verify_inclusion(index, 8, &hashes[index as usize], &proof, &root8).unwrap();
    }
    let proof = store.consistency(3, 8);
    verify_consistency(3, 8, &proof, &root3, &root8).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Plans against the naive implementation, exhaustively for sizes 1..=64.
// ---------------------------------------------------------------------------------------------

const EXHAUSTIVE: usize = 64;

#[test]
fn root_plans_and_compact_ranges_match_naive_roots() {
    let hashes = leaves(EXHAUSTIVE, 1);
    let store = Store::new(hashes.clone());
    let mut range = CompactRange::new();
    assert_eq!(store.root(0), naive_mth(&[]));
    for size in 1..=EXHAUSTIVE {
        range.push(hashes[size - 1]);
        let naive = naive_mth(&hashes[..size]);
        assert_eq!(store.root(size as u64), naive, "root plan, size {size}");
        assert_eq!(range.root(), naive, "compact range, size {size}");
        assert_eq!(range.size(), size as u64);
        // A root needs one node per one bit of the size: exactly the frontier.
        assert_eq!(root_plan(size as u64).nodes(), {
            let mut f = frontier(size as u64);
            f.sort_unstable();
            f
        });
    }
}

#[test]
fn inclusion_plans_match_naive_paths_for_all_sizes_and_indices() {
    let hashes = leaves(EXHAUSTIVE, 2);
    let store = Store::new(hashes.clone());
    let mut pairs = 0;
    for size in 1..=EXHAUSTIVE {
        let root = naive_mth(&hashes[..size]);
        for index in 0..size {
            let naive = naive_path(index, &hashes[..size]);
            let planned = store.inclusion(index as u64, size as u64);
            assert_eq!(planned, naive, "PATH({index}, D[{size}])");
            let plan = inclusion_plan(index as u64, size as u64).unwrap();
            assert_eq!(plan.len(), naive.len());
            // Every needed node lies within the tree, and the plan needs no more than the proof's
            // length times the depth (O(log² n) at worst, O(log n) in practice).
            assert!(plan.nodes().len() <= 2 * 7 * 7);
            verify_inclusion(index as u64, size as u64, &hashes[index], &planned, &root).unwrap();
            assert_eq!(
                root_from_inclusion_proof(index as u64, size as u64, &hashes[index], &planned)
                    .unwrap(),
                root
            );
            pairs += 1;
        }
        assert_eq!(
            inclusion_plan(size as u64, size as u64),
            Err(ProofError::IndexBeyondSize {
                index: size as u64,
                size: size as u64
            })
        );
    }
    assert_eq!(pairs, EXHAUSTIVE * (EXHAUSTIVE + 1) / 2);
}

#[test]
fn consistency_plans_match_naive_proofs_for_all_size_pairs() {
    let hashes = leaves(EXHAUSTIVE, 3);
    let store = Store::new(hashes.clone());
    let mut pairs = 0;
    for size2 in 1..=EXHAUSTIVE {
        let root2 = naive_mth(&hashes[..size2]);
        for size1 in 1..=size2 {
            let root1 = naive_mth(&hashes[..size1]);
            let naive = naive_proof(size1, &hashes[..size2]);
            let planned = store.consistency(size1 as u64, size2 as u64);
            assert_eq!(planned, naive, "PROOF({size1}, D[{size2}])");
            verify_consistency(size1 as u64, size2 as u64, &planned, &root1, &root2).unwrap();
            pairs += 1;
        }
        assert_eq!(
            consistency_plan(0, size2 as u64),
            Err(ProofError::FromEmptyTree)
        );
        assert_eq!(
            consistency_plan(size2 as u64 + 1, size2 as u64),
            Err(ProofError::SizeDecreased {
                size1: size2 as u64 + 1,
                size2: size2 as u64
            })
        );
    }
    assert!(consistency_plan(0, 0).unwrap().is_empty());
    assert_eq!(pairs, EXHAUSTIVE * (EXHAUSTIVE + 1) / 2);
}

#[test]
fn plan_nodes_are_exactly_the_nodes_assemble_reads() {
    let hashes = leaves(40, 4);
    let store = Store::new(hashes);
    for size in 1..=40u64 {
        let mut plans = vec![root_plan(size)];
        for index in 0..size {
            plans.push(inclusion_plan(index, size).unwrap());
        }
        for size1 in 1..=size {
            plans.push(consistency_plan(size1, size).unwrap());
        }
        for plan in plans {
            let read = std::cell::RefCell::new(Vec::new());
            plan.assemble(|id| {
                read.borrow_mut().push(id);
                store.get_within(id, size)
            })
            .unwrap();
            let mut read = read.into_inner();
            read.sort_unstable();
            read.dedup();
            assert_eq!(read, plan.nodes());
        }
    }
}

#[test]
fn plans_for_huge_trees_stay_logarithmic() {
    let size = u64::MAX;
    let plan = inclusion_plan(size / 3, size).unwrap();
    assert_eq!(plan.len(), 64);
    assert!(plan.nodes().len() <= 64 * 64);
    assert_eq!(root_plan(size).nodes(), {
        let mut f = frontier(size);
        f.sort_unstable();
        f
    });
    assert_eq!(frontier(size).len(), 64);
    let plan = consistency_plan(size / 2, size).unwrap();
    assert!(plan.len() <= 2 * 64);
    // Assembling with a missing node reports it rather than panicking.
    assert_eq!(plan.assemble(|_| None), None);
}

#[test]
fn frontier_and_from_peaks_restore_a_range() {
    let hashes = leaves(EXHAUSTIVE + 8, 5);
    let store = Store::new(hashes.clone());
    for size in 0..=EXHAUSTIVE {
        let mut range = CompactRange::new();
        for leaf in &hashes[..size] {
            range.push(*leaf);
        }
        let peaks: Vec<Hash> = frontier(size as u64)
            .into_iter()
            .map(|id| store.get_within(id, size as u64).unwrap())
            .collect();
        assert_eq!(peaks, range.peaks(), "size {size}");
        let mut restored = CompactRange::from_peaks(size as u64, peaks).unwrap();
        assert_eq!(restored, range);
        assert_eq!(restored.root(), naive_mth(&hashes[..size]));
        for (i, leaf) in hashes[size..].iter().enumerate() {
            let completed = restored.append(*leaf);
            let index = (size + i) as u64;
            // The nodes an append names are those the store holds.
            for (id, hash) in completed {
                assert_eq!(Some(hash), store.get(id));
                assert_eq!(id.index, index >> id.level);
            }
            assert_eq!(restored.root(), naive_mth(&hashes[..=size + i]));
        }
    }
    assert_eq!(
        CompactRange::from_peaks(3, vec![[0; 32]]),
        Err(PeakCountError {
            size: 3,
            got: 1,
            want: 2
        })
    );
}

#[test]
fn frontier_names_the_decomposition() {
    assert!(frontier(0).is_empty());
    assert_eq!(
        frontier(13),
        vec![
            NodeId { level: 3, index: 0 },
            NodeId { level: 2, index: 2 },
            NodeId {
                level: 0,
                index: 12
            },
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Verifier edge rules.
// ---------------------------------------------------------------------------------------------

#[test]
fn verifier_edge_rules() {
    let hashes = leaves(8, 6);
    let store = Store::new(hashes.clone());
    let root = store.root(8);
    let proof = store.inclusion(3, 8);
    assert_eq!(
        verify_inclusion(8, 8, &hashes[3], &proof, &root),
        Err(ProofError::IndexBeyondSize { index: 8, size: 8 })
    );
    assert_eq!(
        verify_inclusion(3, 8, &hashes[3][..31], &proof, &root),
        Err(ProofError::WrongHashSize { got: 31 })
    );
    let mut short = proof.iter().map(|h| h.to_vec()).collect::<Vec<_>>();
    short[1].pop();
    assert_eq!(
        verify_inclusion(3, 8, &hashes[3], &short, &root),
        Err(ProofError::WrongHashSize { got: 31 })
    );
    assert_eq!(
        verify_inclusion(3, 8, &hashes[3], &proof[..2], &root),
        Err(ProofError::WrongProofSize { got: 2, want: 3 })
    );
    let no_proof: [Hash; 0] = [];
    assert_eq!(
        verify_consistency(3, 2, &no_proof, &root, &root),
        Err(ProofError::SizeDecreased { size1: 3, size2: 2 })
    );
    assert_eq!(
        verify_consistency(0, 2, &proof, &root, &root),
        Err(ProofError::FromEmptyTree)
    );
    assert_eq!(
        verify_consistency(2, 2, &proof, &root, &root),
        Err(ProofError::ProofNotEmpty)
    );
    assert_eq!(verify_consistency(5, 5, &no_proof, &root, &root), Ok(()));
    assert_eq!(
        verify_consistency(5, 5, &no_proof, &root, &hashes[0]),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_consistency(3, 5, &no_proof, &root, &root),
        Err(ProofError::EmptyProof)
    );
    // Sizes near 2^64: no shift overflow, just a wrong proof size.
    assert_eq!(
        verify_inclusion(0, u64::MAX, &hashes[0], &proof, &root),
        Err(ProofError::WrongProofSize { got: 3, want: 64 })
    );
    assert!(verify_inclusion(u64::MAX - 1, u64::MAX, &hashes[0], &proof, &root).is_err());
    assert!(verify_consistency(1, u64::MAX, &proof, &root, &root).is_err());
    assert!(verify_consistency(u64::MAX - 1, u64::MAX, &proof, &root, &root).is_err());
}

// ---------------------------------------------------------------------------------------------
// Properties over random trees.
// ---------------------------------------------------------------------------------------------

/// Which side each proof hash is hashed on (`true`: the proof hash is the left child): what the
/// verifier computes from `index` and `size`. Two claims with the same shape are the same
/// computation, so the same proof verifies both; the size is bound to a proof only through it.
fn inclusion_shape(index: u64, size: u64) -> Option<Vec<bool>> {
    if index >= size {
        return None;
    }
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = index.checked_shr(inner as u32).unwrap_or(0).count_ones() as usize;
    let mut shape: Vec<bool> = (0..inner).map(|i| (index >> i) & 1 == 1).collect();
    shape.extend(std::iter::repeat_n(true, border));
    Some(shape)
}

/// The verifier's computation for a consistency proof between `size1 < size2`: whether the seed
/// is `root1`, and for each proof hash after the seed whether it enters the old root (`Some`) on
/// the left (`true`), or only the new root (`None`).
fn consistency_shape(size1: u64, size2: u64) -> Option<(bool, Vec<Option<bool>>)> {
    if size1 == 0 || size1 >= size2 {
        return None;
    }
    let index = size1 - 1;
    let inner = (64 - (index ^ (size2 - 1)).leading_zeros()) as usize;
    let border = index.checked_shr(inner as u32).unwrap_or(0).count_ones() as usize;
    let shift = size1.trailing_zeros() as usize;
    let inner = inner - shift;
    let mask = index >> shift;
    let mut shape: Vec<Option<bool>> = (0..inner)
        .map(|i| ((mask >> i) & 1 == 1).then_some(true))
        .collect();
    shape.extend(std::iter::repeat_n(Some(true), border));
    Some((size1 == 1 << shift, shape))
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut flipped = *hash;
    flipped[bit / 8] ^= 1 << (bit % 8);
    flipped
}

/// The bits a tampering check flips in a hash: one in every byte (which one varies with `salt`),
/// so that a comparison or a hash that ignored any byte is caught, at an eighth of the cost of
/// flipping all 256 bits in a debug build.
fn bits_to_flip(salt: u64) -> impl Iterator<Item = usize> {
    (0..32).map(move |byte| byte * 8 + ((salt >> (byte % 21 * 3)) & 7) as usize)
}

fn check_inclusion_tampering(
    store: &Store,
    index: u64,
    size: u64,
    salt: u64,
) -> Result<(), TestCaseError> {
    let proof = store.inclusion(index, size);
    let leaf = store.leaves[index as usize];
    let root = store.root(size);
    prop_assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root), Ok(()));
    for bit in bits_to_flip(salt) {
        for position in 0..proof.len() {
            let mut tampered = proof.clone();
            tampered[position] = flip(&tampered[position], bit);
            prop_assert!(verify_inclusion(index, size, &leaf, &tampered, &root).is_err());
        }
        prop_assert!(verify_inclusion(index, size, &flip(&leaf, bit), &proof, &root).is_err());
        prop_assert!(verify_inclusion(index, size, &leaf, &proof, &flip(&root, bit)).is_err());
    }
    // Changing the index always changes the computation, so it always fails.
    prop_assert!(verify_inclusion(index + 1, size, &leaf, &proof, &root).is_err());
    prop_assert!(verify_inclusion(index.wrapping_sub(1), size, &leaf, &proof, &root).is_err());
    // Changing the size fails unless the new size implies the very same computation (see
    // `proofs_bind_the_size_only_through_the_shape`).
    let shape = inclusion_shape(index, size);
    for other_size in [size + 1, size - 1] {
        let result = verify_inclusion(index, other_size, &leaf, &proof, &root);
        prop_assert!(
            result.is_err() || inclusion_shape(index, other_size) == shape,
            "inclusion ({index}, {size}) also verified with size {other_size}"
        );
    }
    Ok(())
}

fn check_consistency_tampering(
    store: &Store,
    size1: u64,
    size2: u64,
    salt: u64,
) -> Result<(), TestCaseError> {
    let proof = store.consistency(size1, size2);
    let (root1, root2) = (store.root(size1), store.root(size2));
    prop_assert_eq!(
        verify_consistency(size1, size2, &proof, &root1, &root2),
        Ok(())
    );
    for bit in bits_to_flip(salt) {
        for position in 0..proof.len() {
            let mut tampered = proof.clone();
            tampered[position] = flip(&tampered[position], bit);
            prop_assert!(verify_consistency(size1, size2, &tampered, &root1, &root2).is_err());
        }
        prop_assert!(verify_consistency(size1, size2, &proof, &flip(&root1, bit), &root2).is_err());
        prop_assert!(verify_consistency(size1, size2, &proof, &root1, &flip(&root2, bit)).is_err());
    }
    let shape = consistency_shape(size1, size2);
    for (other1, other2) in [
        (size1 + 1, size2),
        (size1 - 1, size2),
        (size1, size2 + 1),
        (size1, size2 - 1),
    ] {
        let result = verify_consistency(other1, other2, &proof, &root1, &root2);
        prop_assert!(
            result.is_err() || consistency_shape(other1, other2) == shape,
            "consistency ({size1}, {size2}) also verified as ({other1}, {other2})"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn random_trees_all_proofs_verify_and_tampering_fails(
        size in 1usize..=2048,
        salt in any::<u64>(),
        pick_index in any::<prop::sample::Index>(),
        pick_old in any::<prop::sample::Index>(),
    ) {
        let hashes = leaves(size, salt);
        let store = Store::new(hashes.clone());
        let n = size as u64;
        let root = store.root(n);

        // Every inclusion proof verifies.
        for index in 0..n {
            let proof = store.inclusion(index, n);
            prop_assert_eq!(
                verify_inclusion(index, n, &hashes[index as usize], &proof, &root),
                Ok(())
            );
        }
        // Every consistency proof from every smaller size verifies (the old roots from a
        // compact range, whose roots the exhaustive tests check).
        let mut range = CompactRange::new();
        for size1 in 1..=n {
            range.push(hashes[size1 as usize - 1]);
            let root1 = range.root();
            let proof = store.consistency(size1, n);
            prop_assert_eq!(verify_consistency(size1, n, &proof, &root1, &root), Ok(()));
        }

        // The plans agree with the naive RFC text on a random pair.
        let index = pick_index.index(size);
        prop_assert_eq!(store.inclusion(index as u64, n), naive_path(index, &hashes));
        prop_assert_eq!(naive_mth(&hashes), root);
        let old = pick_old.index(size) + 1;
        prop_assert_eq!(store.consistency(old as u64, n), naive_proof(old, &hashes));

        // A compact range restored from the frontier of a random size, then fed the remaining
        // leaves, reaches the same root.
        let restore_at = index as u64;
        let peaks = frontier(restore_at)
            .into_iter()
            .map(|id| store.get_within(id, restore_at).unwrap())
            .collect();
        let mut restored = CompactRange::from_peaks(restore_at, peaks).unwrap();
        prop_assert_eq!(restored.root(), store.root(restore_at));
        for leaf in &hashes[index..] {
            restored.push(*leaf);
        }
        prop_assert_eq!(restored.root(), root);

        // Tampering with anything fails.
        check_inclusion_tampering(&store, index as u64, n, salt)?;
        if (old as u64) < n {
            check_consistency_tampering(&store, old as u64, n, salt)?;
        }
    }
}

/// The size is bound to an inclusion or consistency proof only through the proof's shape: a
/// proof for one size can verify for a neighbouring size with the same shape. This documents it.
#[test]
fn proofs_bind_the_size_only_through_the_shape() {
    let hashes = leaves(4, 7);
    let store = Store::new(hashes.clone());
    // PATH(0, D[3]) = [h1, h2]; read as a proof in a tree of size 4 it is [h1, MTH(D[2:4])] in
    // shape, so it verifies against the size-3 root with size 4.
    let proof = store.inclusion(0, 3);
    let root3 = store.root(3);
    assert_eq!(verify_inclusion(0, 3, &hashes[0], &proof, &root3), Ok(()));
    assert_eq!(verify_inclusion(0, 4, &hashes[0], &proof, &root3), Ok(()));
    assert_eq!(inclusion_shape(0, 3), inclusion_shape(0, 4));
    // Likewise PROOF(2, D[3]) = [h2] verifies as a proof from 2 to 4 between the same roots.
    let proof = store.consistency(2, 3);
    let root2 = store.root(2);
    assert_eq!(verify_consistency(2, 3, &proof, &root2, &root3), Ok(()));
    assert_eq!(verify_consistency(2, 4, &proof, &root2, &root3), Ok(()));
}
