//! RFC 9162 §2.1 Merkle tree hashing, proof construction and proof verification.
//!
//! The hashing is SHA-256 with domain separation: a leaf is `SHA-256(0x00 ‖ leaf bytes)` and an
//! interior node `SHA-256(0x01 ‖ left ‖ right)`; the empty tree's root is `SHA-256()`.
//!
//! * **Verification** ([`verify_inclusion`], [`verify_consistency`],
//!   [`root_from_inclusion_proof`]) is a port of the reference verifier of transparency-dev/merkle
//!   (`proof/verify.go`), including its edge rules, so that Amanah's answers agree with every other
//!   RFC 9162 implementation; that project's conformance probes run in the test suite. One of those
//!   rules is worth knowing: for equal sizes with an empty proof the two roots are compared as
//!   given, whatever their length.
//! * **Construction** is expressed over aligned, complete subtrees ([`NodeId`]`{ level, index }`,
//!   the `2^level` leaves from `index · 2^level`): [`root_plan`], [`inclusion_plan`] and
//!   [`consistency_plan`] say which complete-subtree hashes the root at a size or a proof needs
//!   (O(log n) of them, [`Plan::nodes`]), so that a store that keeps interior nodes fetches them in
//!   one query, and [`Plan::assemble`] folds them into the root or the proof (RFC 9162 §2.1.3.1
//!   `PATH` and §2.1.4.1 `PROOF`, hashes in the RFC's order).
//! * [`CompactRange`] computes roots incrementally in O(log n) memory from a stream of leaf
//!   hashes (the offline verifier), and names the complete subtrees each append completes (for a
//!   store that keeps interior nodes). [`frontier`] names the nodes a range keeps, so a range can
//!   be restored from a store with [`CompactRange::from_peaks`].

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string.
#[must_use]
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// `SHA-256(0x00 ‖ leaf)`: the hash of a leaf.
#[must_use]
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(leaf);
    hasher.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node.
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// An aligned complete subtree: the `2^level` leaves starting at leaf `index << level`.
///
/// Level 0 holds the leaf hashes themselves; `NodeId { level, index }` is the parent of
/// `{ level - 1, 2·index }` and `{ level - 1, 2·index + 1 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// The height of the subtree: it spans `2^level` leaves.
    pub level: u32,
    /// The position of the subtree among those of its level, from the left.
    pub index: u64,
}

/// The largest power of two strictly smaller than `n` (`n ≥ 2`; 1 for smaller `n`).
fn split_point(n: u64) -> u64 {
    if n < 2 {
        return 1;
    }
    1 << (63 - (n - 1).leading_zeros())
}

/// How to compute `MTH(D[start : start + size])` from complete subtrees.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RangeHash {
    /// The empty tree's root.
    Empty,
    /// A complete subtree, fetched as it is.
    Node(NodeId),
    /// `HASH(0x01 ‖ left ‖ right)`.
    Pair(Box<RangeHash>, Box<RangeHash>),
}

impl RangeHash {
    /// The range `[start, start + size)`, which must be a range the RFC's recursion produces
    /// (`start` a multiple of the smallest power of two not below `size`), with `size ≥ 1`.
    fn of(start: u64, size: u64) -> Self {
        if size.is_power_of_two() {
            let level = size.trailing_zeros();
            Self::Node(NodeId {
                level,
                index: start >> level,
            })
        } else {
            let k = split_point(size);
            Self::Pair(
                Box::new(Self::of(start, k)),
                Box::new(Self::of(start + k, size - k)),
            )
        }
    }

    fn collect(&self, into: &mut Vec<NodeId>) {
        match self {
            Self::Empty => {}
            Self::Node(id) => into.push(*id),
            Self::Pair(left, right) => {
                left.collect(into);
                right.collect(into);
            }
        }
    }

    fn compute(&self, lookup: &mut impl FnMut(NodeId) -> Option<Hash>) -> Option<Hash> {
        match self {
            Self::Empty => Some(empty_root()),
            Self::Node(id) => lookup(*id),
            Self::Pair(left, right) => {
                let left = left.compute(lookup)?;
                let right = right.compute(lookup)?;
                Some(node_hash(&left, &right))
            }
        }
    }
}

/// A recipe for a root or a proof: which complete-subtree hashes it needs, and how to fold them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    parts: Vec<RangeHash>,
}

impl Plan {
    /// The complete subtrees whose hashes the plan needs, sorted, without duplicates.
    #[must_use]
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut nodes = Vec::new();
        for part in &self.parts {
            part.collect(&mut nodes);
        }
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }

    /// How many hashes [`Plan::assemble`] returns: the proof's length (1 for a root plan).
    #[must_use]
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether the plan yields no hash at all (an empty proof).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Folds the fetched subtree hashes into the proof hashes, in RFC 9162 order (or into the one
    /// root hash of a [`root_plan`]). `None` when `lookup` lacks a node the plan needs.
    pub fn assemble(&self, mut lookup: impl FnMut(NodeId) -> Option<Hash>) -> Option<Vec<Hash>> {
        self.parts
            .iter()
            .map(|part| part.compute(&mut lookup))
            .collect()
    }
}

/// The plan for `MTH(D[0:size])`: one hash. For `size = 0` it needs no node and yields
/// [`empty_root`].
#[must_use]
pub fn root_plan(size: u64) -> Plan {
    let part = if size == 0 {
        RangeHash::Empty
    } else {
        RangeHash::of(0, size)
    };
    Plan { parts: vec![part] }
}

/// The plan for RFC 9162 §2.1.3.1 `PATH(index, D[0:size])`, the inclusion proof of a leaf.
///
/// # Errors
/// [`ProofError::IndexBeyondSize`] unless `index < size`.
pub fn inclusion_plan(index: u64, size: u64) -> Result<Plan, ProofError> {
    if index >= size {
        return Err(ProofError::IndexBeyondSize { index, size });
    }
    let mut parts = Vec::new();
    path(index, 0, size, &mut parts);
    parts.reverse();
    Ok(Plan { parts })
}

/// Pushes the proof for leaf `m` of `D[start : start+n]`, outermost first (reversed by the caller
/// into the RFC's leaf-to-root order).
fn path(m: u64, start: u64, n: u64, out: &mut Vec<RangeHash>) {
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if m < k {
        out.push(RangeHash::of(start + k, n - k));
        path(m, start, k, out);
    } else {
        out.push(RangeHash::of(start, k));
        path(m - k, start + k, n - k, out);
    }
}

/// The plan for RFC 9162 §2.1.4.1 `PROOF(size1, D[0:size2])`, the consistency proof between two
/// tree sizes. Equal sizes give the empty proof (as the verifier expects).
///
/// # Errors
/// [`ProofError::SizeDecreased`] when `size2 < size1`; [`ProofError::FromEmptyTree`] when
/// `size1 = 0 < size2` (such a proof is meaningless, and the verifier rejects it).
pub fn consistency_plan(size1: u64, size2: u64) -> Result<Plan, ProofError> {
    if size2 < size1 {
        return Err(ProofError::SizeDecreased { size1, size2 });
    }
    if size1 == 0 && size2 > 0 {
        return Err(ProofError::FromEmptyTree);
    }
    let mut parts = Vec::new();
    if size1 < size2 {
        subproof(size1, 0, size2, true, &mut parts);
    }
    parts.reverse();
    Ok(Plan { parts })
}

/// RFC 9162 `SUBPROOF(m, D[start : start+n], complete)` for `0 < m ≤ n`, outermost first.
fn subproof(m: u64, start: u64, n: u64, complete: bool, out: &mut Vec<RangeHash>) {
    if m == n {
        if !complete {
            out.push(RangeHash::of(start, n));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        out.push(RangeHash::of(start + k, n - k));
        subproof(m, start, k, complete, out);
    } else {
        out.push(RangeHash::of(start, k));
        subproof(m - k, start + k, n - k, false, out);
    }
}

/// Why a proof did not verify, or cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is beyond the tree size {size}")]
    IndexBeyondSize {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A leaf hash or proof hash is not 32 bytes long.
    #[error("a hash has {got} bytes, expected 32")]
    WrongHashSize {
        /// Its length.
        got: usize,
    },
    /// The proof does not have the length the sizes (and index) imply.
    #[error("the proof has {got} hashes, expected {want}")]
    WrongProofSize {
        /// The proof's length.
        got: usize,
        /// The length the sizes imply.
        want: usize,
    },
    /// A root claimed for the empty tree is not SHA-256 of the empty string.
    #[error("the root of the empty tree must be SHA-256 of the empty string")]
    NotTheEmptyRoot,
    /// The proof is well-formed but yields another root.
    #[error("the computed root does not match the expected root")]
    RootMismatch,
    /// A consistency proof towards a smaller tree.
    #[error("the new size {size2} is smaller than the old size {size1}")]
    SizeDecreased {
        /// The old size.
        size1: u64,
        /// The new size.
        size2: u64,
    },
    /// A consistency proof between equal sizes must be empty.
    #[error("the sizes are equal but the proof is not empty")]
    ProofNotEmpty,
    /// A consistency proof from size 0 to a larger size.
    #[error("a consistency proof from the empty tree is meaningless")]
    FromEmptyTree,
    /// A consistency proof between different sizes cannot be empty.
    #[error("the consistency proof is empty")]
    EmptyProof,
}

fn to_hash(bytes: &[u8]) -> Result<Hash, ProofError> {
    bytes
        .try_into()
        .map_err(|_| ProofError::WrongHashSize { got: bytes.len() })
}

fn to_hashes(proof: &[impl AsRef<[u8]>]) -> Result<Vec<Hash>, ProofError> {
    proof.iter().map(|h| to_hash(h.as_ref())).collect()
}

/// Go's `bits.Len64(index ^ (size - 1))`: the number of proof hashes below the level where the
/// paths to `index` and to the last leaf meet. `size ≥ 1`.
fn inner_proof_size(index: u64, size: u64) -> usize {
    (64 - (index ^ (size - 1)).leading_zeros()) as usize
}

/// Splits an inclusion proof's length into its inner part and its border part (`size ≥ 1`).
fn decomp_incl_proof(index: u64, size: u64) -> (usize, usize) {
    let inner = inner_proof_size(index, size);
    // `inner` may be 64, where Go's shift yields 0 and Rust's `>>` would overflow.
    let border = u32::try_from(inner)
        .ok()
        .and_then(|shift| index.checked_shr(shift))
        .unwrap_or(0)
        .count_ones() as usize;
    (inner, border)
}

/// Bit `i` of `index`, 0 beyond bit 63.
fn bit(index: u64, i: usize) -> u64 {
    u32::try_from(i)
        .ok()
        .and_then(|shift| index.checked_shr(shift))
        .unwrap_or(0)
        & 1
}

fn chain_inner(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |seed, (i, h)| {
        if bit(index, i) == 0 {
            node_hash(&seed, h)
        } else {
            node_hash(h, &seed)
        }
    })
}

fn chain_inner_right(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |seed, (i, h)| {
        if bit(index, i) == 1 {
            node_hash(h, &seed)
        } else {
            seed
        }
    })
}

fn chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |seed, h| node_hash(h, &seed))
}

/// The root implied by an inclusion proof (RFC 9162 §2.1.3.2), as `RootFromInclusionProof`.
///
/// # Errors
/// [`ProofError::IndexBeyondSize`] unless `index < size`; [`ProofError::WrongHashSize`] for a
/// leaf or proof hash that is not 32 bytes; [`ProofError::WrongProofSize`] when the proof's
/// length does not match `index` and `size`.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf_hash: &[u8],
    proof: &[impl AsRef<[u8]>],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexBeyondSize { index, size });
    }
    let leaf = to_hash(leaf_hash)?;
    let (inner, border) = decomp_incl_proof(index, size);
    if proof.len() != inner + border {
        return Err(ProofError::WrongProofSize {
            got: proof.len(),
            want: inner + border,
        });
    }
    let proof = to_hashes(proof)?;
    let (inner_part, border_part) = proof.split_at(inner);
    let res = chain_inner(leaf, inner_part, index);
    Ok(chain_border_right(res, border_part))
}

/// Verifies an inclusion proof of `leaf_hash` at `index` in the tree of `size` with `root`
/// (RFC 9162 §2.1.3.2, as `VerifyInclusion`).
///
/// # Errors
/// As [`root_from_inclusion_proof`], and [`ProofError::RootMismatch`] when the proof yields
/// another root.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &[u8],
    proof: &[impl AsRef<[u8]>],
    root: &[u8],
) -> Result<(), ProofError> {
    let calculated = root_from_inclusion_proof(index, size, leaf_hash, proof)?;
    verify_match(&calculated, root)
}

fn verify_match(calculated: &[u8], expected: &[u8]) -> Result<(), ProofError> {
    if calculated == expected {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Verifies that the tree of `size2` with `root2` extends the tree of `size1` with `root1`
/// (RFC 9162 §2.1.4.2, as `VerifyConsistency`).
///
/// Equal sizes need an empty proof and equal roots (compared byte for byte, whatever their
/// length, as the reference verifier does).
///
/// # Errors
/// [`ProofError::SizeDecreased`] when `size2 < size1`; [`ProofError::ProofNotEmpty`] for equal
/// sizes and a proof; [`ProofError::FromEmptyTree`] when `size1 = 0 < size2`;
/// [`ProofError::EmptyProof`]; [`ProofError::WrongHashSize`]; [`ProofError::WrongProofSize`];
/// [`ProofError::RootMismatch`] when either root does not match.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[impl AsRef<[u8]>],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), ProofError> {
    if size2 < size1 {
        return Err(ProofError::SizeDecreased { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::ProofNotEmpty);
        }
        // The empty tree has exactly one root, SHA-256 of nothing: a claim of any other root for
        // size 0 is false, whatever it is compared with.
        if size1 == 0 && root1 != empty_root().as_slice() {
            return Err(ProofError::NotTheEmptyRoot);
        }
        return verify_match(root1, root2);
    }
    if size1 == 0 {
        return Err(ProofError::FromEmptyTree);
    }
    if proof.is_empty() {
        return Err(ProofError::EmptyProof);
    }
    let proof = to_hashes(proof)?;
    let (inner, border) = decomp_incl_proof(size1 - 1, size2);
    let shift = size1.trailing_zeros();
    // `size1 < size2` makes `inner > shift` (the paths to leaves size1-1 and size2-1 part above
    // the level of size1's lowest complete subtree).
    let inner = inner.saturating_sub(shift as usize);

    // The proof starts with the root of the subtree of size 2^shift that ends at size1, unless
    // size1 is that very subtree: then it is root1.
    let (seed, start) = if size1 == 1 << shift {
        (to_hash(root1)?, 0)
    } else {
        (proof[0], 1)
    };
    if proof.len() != start + inner + border {
        return Err(ProofError::WrongProofSize {
            got: proof.len(),
            want: start + inner + border,
        });
    }
    // Now a suffix of the inclusion proof of leaf size1-1 in the tree of size2.
    let (inner_part, border_part) = proof[start..].split_at(inner);
    let mask = (size1 - 1) >> shift;

    let hash1 = chain_inner_right(seed, inner_part, mask);
    let hash1 = chain_border_right(hash1, border_part);
    verify_match(&hash1, root1)?;

    let hash2 = chain_inner(seed, inner_part, mask);
    let hash2 = chain_border_right(hash2, border_part);
    verify_match(&hash2, root2)
}

/// The right edge of a tree: computes roots incrementally from leaf hashes in O(log n) memory.
///
/// Used by the offline verifier, which streams an export once, and by a store that keeps interior
/// nodes ([`CompactRange::append`] names the complete subtrees each leaf completes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// Roots of the complete subtrees of the binary decomposition of `size`, largest first.
    peaks: Vec<Hash>,
}

/// [`CompactRange::from_peaks`] was given the wrong number of hashes for the size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tree of size {size} has {want} peaks, got {got} hashes")]
pub struct PeakCountError {
    /// The tree size.
    pub size: u64,
    /// How many hashes were given.
    pub got: usize,
    /// How many the size needs: its number of one bits.
    pub want: usize,
}

impl CompactRange {
    /// The range of the empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many leaves were appended.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hashes of the subtrees [`frontier`]`(self.size())` names, largest first.
    #[must_use]
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.push_with(leaf, |_, _| {});
    }

    /// Appends one leaf hash; returns the complete subtrees it completed, smallest first, as
    /// `(NodeId, hash)`: the leaf itself (level 0) first, then each new interior node.
    pub fn append(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut completed = Vec::with_capacity(1 + self.size.trailing_ones() as usize);
        self.push_with(leaf, |id, hash| completed.push((id, *hash)));
        completed
    }

    fn push_with(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, &Hash)) {
        let mut index = self.size;
        let mut level = 0;
        completed(NodeId { level, index }, &leaf);
        let mut hash = leaf;
        while index & 1 == 1 {
            let Some(left) = self.peaks.pop() else { break };
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            completed(NodeId { level, index }, &hash);
        }
        self.peaks.push(hash);
        self.size += 1;
    }

    /// The root of the tree of all leaves appended so far ([`empty_root`] for none).
    #[must_use]
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        match peaks.next() {
            None => empty_root(),
            Some(last) => peaks.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }

    /// Restores the range of a tree of `size` leaves from the hashes of the complete subtrees
    /// [`frontier`]`(size)` names, largest first.
    ///
    /// # Errors
    /// [`PeakCountError`] unless there is one hash per one bit of `size`.
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Result<Self, PeakCountError> {
        let want = size.count_ones() as usize;
        if peaks.len() == want {
            Ok(Self { size, peaks })
        } else {
            Err(PeakCountError {
                size,
                got: peaks.len(),
                want,
            })
        }
    }
}

/// The complete subtrees of the binary decomposition of `size`, largest (leftmost) first: the
/// nodes a [`CompactRange`] of that size keeps.
#[must_use]
pub fn frontier(size: u64) -> Vec<NodeId> {
    let mut nodes = Vec::with_capacity(size.count_ones() as usize);
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            nodes.push(NodeId {
                level,
                index: start >> level,
            });
            start += width;
        }
    }
    nodes
}
