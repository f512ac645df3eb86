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
use crate::error::StoreError;
use crate::error::StoreResult;

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
pub async fn open(url: &str) -> StoreResult<Box<dyn TableCopier>> {
    if url.starts_with("sqlite:") {
        Ok(Box::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Box::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
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

/// Progress of a copy: rows per table.
#[derive(Debug, Default)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

/// Copies every table from `from` to `to`, in pages. Refuses a target that holds any row unless `replace`
/// is set, in which case the target's tables are emptied first (children before parents).
pub async fn copy_store(from: &dyn TableCopier, to: &dyn TableCopier, replace: bool) -> StoreResult<CopyReport> {
    const PAGE: i64 = 5000;
    let mut occupied = Vec::new();
    for table in tables() {
        // `settings` is written by every start (the zone), so it does not count as content.
        if table.name != "settings" && to.count_rows(table.name).await? > 0 {
            occupied.push(table.name);
        }
    }
    if !occupied.is_empty() && !replace {
        return Err(StoreError::Conflict("the target store is not empty (use --replace to overwrite it)"));
    }
    for table in tables().rev() {
        to.clear_table(table.name).await?;
    }
    let mut report = CopyReport::default();
    for table in tables() {
        let mut offset = 0;
        loop {
            let rows = from.read_rows(table.name, offset, PAGE).await?;
            if rows.is_empty() {
                break;
            }
            to.write_rows(table.name, &rows).await?;
            offset += rows.len() as i64;
            if (rows.len() as i64) < PAGE {
                break;
            }
        }
        to.after_copy(table.name).await?;
        report.tables.push((table.name, offset as u64));
    }
    Ok(report)
}
