//! A run split over several processes (`--shard i/n`): which share of the
//! traffic this one sends.

use serde::{Deserialize, Serialize};

use super::{LoadModel, RateShape};

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// Why `--shard` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("shard `{text}`: write it as i/n, e.g. 0/3")]
    NotAFraction { text: String },
    #[error("shard `{text}`: `{number}` is not a number")]
    NotANumber {
        text: String,
        number: String,
        #[source]
        source: std::num::ParseIntError,
    },
    #[error("shard `{text}`: need 0 <= i < n")]
    OutOfRange { text: String },
}

impl Shard {
    pub fn parse(text: &str) -> Result<Self, ShardError> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| ShardError::NotAFraction { text: text.into() })?;
        let number = |part: &str| {
            part.trim()
                .parse::<u32>()
                .map_err(|source| ShardError::NotANumber {
                    text: text.into(),
                    number: part.into(),
                    source,
                })
        };
        let (index, count) = (number(index)?, number(count)?);
        if count == 0 || index >= count {
            return Err(ShardError::OutOfRange { text: text.into() });
        }
        Ok(Shard { index, count })
    }

    /// This shard's part of a whole split as evenly as integers allow (the
    /// first `whole % count` shards take one more).
    pub fn share_of(&self, whole: u64) -> u64 {
        let (index, count) = (self.index as u64, self.count as u64);
        whole / count + u64::from(index < whole % count)
    }

    /// This shard's part of a load model: the arrival rate, or the request
    /// count and concurrency, divided by the number of shards.
    pub fn apply(&self, model: &LoadModel) -> LoadModel {
        let n = self.count as f64;
        match model {
            LoadModel::Open {
                rate,
                duration,
                connections,
            } => LoadModel::Open {
                rate: RateShape {
                    from: rate.from / n,
                    to: rate.to / n,
                },
                duration: *duration,
                connections: self.share_of(*connections as u64).max(1) as u32,
            },
            LoadModel::Closed {
                requests,
                concurrency,
                pause,
                max_duration,
            } => LoadModel::Closed {
                requests: self.share_of(*requests),
                concurrency: self.share_of(*concurrency as u64).max(1) as u32,
                pause: *pause,
                max_duration: *max_duration,
            },
            LoadModel::Idle { duration } => LoadModel::Idle {
                duration: *duration,
            },
        }
    }
}
