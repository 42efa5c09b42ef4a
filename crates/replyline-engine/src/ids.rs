//! Identifiers shared by the engine and its drivers.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An employee's id: short ids are stored inline, without a heap allocation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmployeeId(CompactString);

impl EmployeeId {
    /// Wraps a string id.
    pub fn new(id: impl AsRef<str>) -> Self {
        Self(CompactString::new(id.as_ref()))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmployeeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for EmployeeId {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}
