//! Copying a whole store to another backend (`gatehouse migrate`). The tables and their column types come
//! from [`crate::schema`], so both backends read and write them the same way. This is not part of
//! [`crate::store::Store`]: only the migration tool copies tables.

use async_trait::async_trait;

use crate::backend::{Backend, query};
use crate::value::Value;
use crate::schema::{self, Table};
use crate::postgres::PostgresStore;
use crate::sql_store::SqlStore;
use crate::sqlite::SqliteStore;
use crate::backend::OpenMode;
use crate::error::{StoreError, StoreResult, redact_url};

pub use crate::schema::ColumnType;

/// One value, portable between SQLite and PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// The tables a copy moves, parents before children.
pub fn tables() -> impl DoubleEndedIterator<Item = &'static Table> {
    schema::TABLES.iter().copied().filter(|table| table.copied)
}

/// Reads and writes whole tables of one store, as portable cells.
#[async_trait]
pub trait TableCopier: Send + Sync {
    /// Rows in a table named in [`schema::TABLES`].
    async fn count_rows(&self, table: &str) -> StoreResult<i64>;
    /// A page of a table's rows, in [`Table::order_by`] order, as portable cells in column order.
    async fn read_rows(&self, table: &str, offset: i64, limit: i64) -> StoreResult<Vec<Vec<Cell>>>;
    /// Inserts rows (ids included) into a table, in one transaction.
    async fn write_rows(&self, table: &str, rows: &[Vec<Cell>]) -> StoreResult<()>;
    async fn clear_table(&self, table: &str) -> StoreResult<()>;
    /// Moves generated-id sequences past the copied ids.
    async fn after_copy(&self, table: &str) -> StoreResult<()>;
}

/// Opens the store a URL names for copying, running its migrations (so a new target gets its tables).
/// A source is opened with [`OpenMode::MustExist`]: a mistyped path must not read as an empty store.
pub async fn open(url: &str, mode: OpenMode) -> StoreResult<Box<dyn TableCopier>> {
    if url.starts_with("sqlite:") {
        Ok(Box::new(SqliteStore::open(url, mode).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Box::new(PostgresStore::open(url, mode).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redact_url(url)))
    }
}

fn known(name: &str) -> StoreResult<&'static Table> {
    schema::table(name).ok_or(StoreError::Conflict("unknown table"))
}

fn to_value(kind: ColumnType, cell: &Cell) -> Value {
    match (kind, cell) {
        (ColumnType::Int, Cell::Int(value)) => Value::Int(Some(*value)),
        (ColumnType::Int, _) => Value::Int(None),
        (ColumnType::Text, Cell::Text(value)) => Value::Text(Some(value.clone())),
        (ColumnType::Text, _) => Value::Text(None),
        (ColumnType::Bytes, Cell::Bytes(value)) => Value::Bytes(Some(value.clone())),
        (ColumnType::Bytes, _) => Value::Bytes(None),
        (ColumnType::Bool, Cell::Bool(value)) => Value::Bool(Some(*value)),
        (ColumnType::Bool, _) => Value::Bool(None),
    }
}

fn to_cell(value: Value) -> Cell {
    match value {
        Value::Int(value) => value.map_or(Cell::Null, Cell::Int),
        Value::Text(value) => value.map_or(Cell::Null, Cell::Text),
        Value::Bytes(value) => value.map_or(Cell::Null, Cell::Bytes),
        Value::Bool(value) => value.map_or(Cell::Null, Cell::Bool),
    }
}

#[async_trait]
impl<DB: Backend> TableCopier for SqlStore<DB> {
    async fn count_rows(&self, table: &str) -> StoreResult<i64> {
        let table = known(table)?;
        query(format!("SELECT COUNT(*) AS n FROM {}", table.name)).fetch_one(&self.pool).await?.get("n")
    }

    async fn read_rows(&self, table: &str, offset: i64, limit: i64) -> StoreResult<Vec<Vec<Cell>>> {
        let table = known(table)?;
        let sql = format!("SELECT {} FROM {} ORDER BY {} LIMIT $1 OFFSET $2", table.column_list(), table.name, table.order_by);
        let rows = query(sql).bind(limit).bind(offset).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| table.columns.iter().map(|(name, kind)| Ok(to_cell(row.value(name, *kind)?))).collect())
            .collect()
    }

    async fn write_rows(&self, table: &str, rows: &[Vec<Cell>]) -> StoreResult<()> {
        let table = known(table)?;
        let sql = table.insert_one();
        let mut tx = self.writer.begin().await?;
        for row in rows {
            let values = table.columns.iter().zip(row).map(|((_, kind), cell)| to_value(*kind, cell));
            query(sql).bind_all(values).execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn clear_table(&self, table: &str) -> StoreResult<()> {
        let table = known(table)?;
        query(format!("DELETE FROM {}", table.name)).execute(&self.writer).await?;
        Ok(())
    }

    async fn after_copy(&self, table: &str) -> StoreResult<()> {
        let table = known(table)?;
        if let (true, Some(template)) = (table.generated_id, DB::RESET_SEQUENCE) {
            query(template.replace("{table}", table.name)).execute(&self.writer).await?;
        }
        Ok(())
    }
}

/// Rows per table, in [`tables`] order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TableCounts {
    pub tables: Vec<(&'static str, u64)>,
}

impl TableCounts {
    /// Rows that are a store's content: every table but `settings`, which every start writes (the zone).
    pub fn content_rows(&self) -> u64 {
        self.tables.iter().filter(|(name, _)| *name != "settings").map(|(_, rows)| rows).sum()
    }

    /// The tables holding content, with their rows.
    pub fn occupied(&self) -> impl Iterator<Item = &(&'static str, u64)> {
        self.tables.iter().filter(|(name, rows)| *name != "settings" && *rows > 0)
    }
}

/// Counts the rows of every table a copy moves.
pub async fn count_tables(store: &dyn TableCopier) -> StoreResult<TableCounts> {
    let mut counts = TableCounts::default();
    for table in tables() {
        let rows = store.count_rows(table.name).await?;
        counts.tables.push((table.name, u64::try_from(rows).unwrap_or(0)));
    }
    Ok(counts)
}

/// What a copy may do beyond copying into an empty target.
#[derive(Debug, Default, Clone, Copy)]
pub struct CopyOptions {
    /// Empty a non-empty target first (children before parents) instead of refusing.
    pub replace: bool,
    /// Copy a source that holds no content. Refused by default: an empty source is more often a mistyped
    /// path or the wrong database than a wish, and with `replace` it would wipe the target.
    pub allow_empty_source: bool,
}

/// Told about a copy as it goes, to show progress.
pub trait CopyProgress: Send + Sync {
    /// A table's copy starts; `rows` is how many it holds.
    fn table_started(&self, table: &'static str, rows: u64);
    /// `rows` more rows of the current table were written.
    fn rows_copied(&self, rows: u64);
}

/// For a copy nobody watches.
pub struct NoProgress;

impl CopyProgress for NoProgress {
    fn table_started(&self, _table: &'static str, _rows: u64) {}
    fn rows_copied(&self, _rows: u64) {}
}

/// Copies every table from `from` to `to`, in pages, and answers the rows copied per table. Before writing
/// anything it refuses an empty source (unless `allow_empty_source`) and a target holding any content
/// (unless `replace`).
pub async fn copy_store(from: &dyn TableCopier, to: &dyn TableCopier, options: CopyOptions, progress: &dyn CopyProgress) -> StoreResult<TableCounts> {
    const PAGE: i64 = 5000;
    let source = count_tables(from).await?;
    if source.content_rows() == 0 && !options.allow_empty_source {
        return Err(StoreError::Refused("the source store is empty: nothing to copy".into()));
    }
    let target = count_tables(to).await?;
    if target.content_rows() > 0 && !options.replace {
        return Err(StoreError::Refused("the target store is not empty (use --replace to overwrite it)".into()));
    }
    for table in tables().rev() {
        to.clear_table(table.name).await?;
    }
    let mut copied = TableCounts::default();
    for (table, (_, rows)) in tables().zip(&source.tables) {
        progress.table_started(table.name, *rows);
        let mut offset = 0;
        loop {
            let page = from.read_rows(table.name, offset, PAGE).await?;
            if page.is_empty() {
                break;
            }
            to.write_rows(table.name, &page).await?;
            offset += page.len() as i64;
            progress.rows_copied(page.len() as u64);
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        to.after_copy(table.name).await?;
        copied.tables.push((table.name, offset as u64));
    }
    Ok(copied)
}
