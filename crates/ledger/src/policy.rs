//! The consortium's witnessing policy applied to a checkpoint: which witnesses' cosignatures
//! count for a hospital's log (the trust list's witnesses, minus any the hospital runs itself)
//! and how many it needs (the trust list's quorum).

use spondon_core::token::{Hospital, TrustList};

use crate::checkpoint::SignedCheckpoint;
use crate::note::{NoteError, Verifier};

/// What a reader requires of a hospital's checkpoints.
#[derive(Debug, Clone)]
pub struct WitnessPolicy {
    witnesses: Vec<Verifier>,
    quorum: usize,
}

/// How far a checkpoint is witnessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Witnessed {
    /// Valid cosignatures from distinct witnesses that count for this log.
    pub cosignatures: usize,
    /// How many the trust list requires (0: none required).
    pub quorum: usize,
}

impl Witnessed {
    /// The quorum is met (always, when none is required).
    pub fn met(&self) -> bool {
        self.cosignatures >= self.quorum
    }
}

impl WitnessPolicy {
    /// No witnesses, nothing required (a trust list from before witnessing).
    pub fn none() -> Self {
        Self {
            witnesses: Vec::new(),
            quorum: 0,
        }
    }

    /// The policy of `list` for `hospital`'s log.
    pub fn for_hospital(list: &TrustList, hospital: &Hospital) -> Result<Self, NoteError> {
        let witnesses = list
            .witnessing
            .for_hospital(&hospital.id)
            .map(|w| Verifier::cosignature_v1(&w.name, w.key))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            witnesses,
            quorum: usize::from(list.witnessing.quorum),
        })
    }

    /// The cosignature keys that count.
    pub fn witnesses(&self) -> &[Verifier] {
        &self.witnesses
    }

    /// Cosignatures required.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// Counts the valid cosignatures of counting witnesses on `cp`. A cosignature that names a
    /// counting witness but does not verify is an error: someone forged or altered it.
    pub fn check(&self, cp: &SignedCheckpoint) -> Result<Witnessed, NoteError> {
        let cosignatures = if self.witnesses.is_empty() {
            0
        } else {
            cp.count_cosignatures(&self.witnesses)?
        };
        Ok(Witnessed {
            cosignatures,
            quorum: self.quorum,
        })
    }
}
