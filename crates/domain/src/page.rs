//! Make's `pg[...]` pagination, as a value the store can apply.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Id,
    Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub offset: u32,
    pub sort_by: SortKey,
    pub sort_dir: SortDir,
}

impl Page {
    /// The SDK's mocks echo `limit: 10000`; it is also our ceiling.
    pub const MAX_LIMIT: u32 = 10_000;
}

impl Default for Page {
    fn default() -> Self {
        Self { limit: Self::MAX_LIMIT, offset: 0, sort_by: SortKey::Name, sort_dir: SortDir::Asc }
    }
}
