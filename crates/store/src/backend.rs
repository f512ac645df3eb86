//! The seam between the SQL both databases share and the two sqlx drivers.
//!
//! Repositories are written once, generic over [`Backend`]. sqlx's own generic API would need a dozen
//! higher-ranked bounds (executors, argument buffers, one `Encode` and `Decode` per type) restated on every
//! generic function, because Rust does not carry such bounds from a trait to its users. So repositories
//! never call sqlx's query API: they build a [`Query`] (SQL text and typed values) and hand it to the
//! backend, whose two impls (in `sqlite.rs` and `postgres.rs`) are where the concrete driver types meet
//! those bounds. This is not sqlx's `Any` driver: each backend runs its own driver, with its own types.

use std::borrow::Cow;
use std::future::Future;

use gatehouse_domain::oauth::ClientId;
use gatehouse_domain::{FamilyId, GrantId, Jti, Kid, OrganizationId, ScopeSet, Timestamp, TokenHash, UserId, TeamId};
use sqlx::{Database, Pool, Transaction};

use crate::value::{ColumnType, Value};
use crate::listener::RevocationListener;
use crate::error::StoreError;
use crate::error::StoreResult;

/// A database the store runs on. Implemented for [`sqlx::Sqlite`] and [`sqlx::Postgres`].
pub trait Backend: Database {
    /// `sqlite` or `postgres`.
    const LABEL: &'static str;
    /// Run inside a transaction that records a revocation, to wake the other nodes when it commits.
    const NOTIFY_REVOCATION: Option<&'static str>;
    /// Moves a table's generated-id sequence past ids that were copied in; `{table}` names the table.
    const RESET_SEQUENCE: Option<&'static str>;
    /// Run on the writing connection before and after a bulk load (the benchmark's seeding).
    const BULK_BEFORE: &'static [&'static str];
    const BULK_AFTER: &'static [&'static str];
    /// Whether a bulk insert numbers its placeholders (`$1`) or leaves them anonymous (`?`).
    const NUMBERED_BULK_PLACEHOLDERS: bool;

    /// Runs a statement; answers how many rows it changed.
    fn execute<'c>(on: On<'c, Self>, query: Query) -> impl Future<Output = sqlx::Result<u64>> + Send + 'c;
    fn fetch_optional<'c>(on: On<'c, Self>, query: Query)
    -> impl Future<Output = sqlx::Result<Option<Self::Row>>> + Send + 'c;
    fn fetch_all<'c>(on: On<'c, Self>, query: Query) -> impl Future<Output = sqlx::Result<Vec<Self::Row>>> + Send + 'c;
    /// One column of a row, read as `kind`.
    fn read(row: &Self::Row, column: &str, kind: ColumnType) -> sqlx::Result<Value>;
    /// A push channel for revocations, where the database has one.
    fn listen(pool: &Pool<Self>) -> impl Future<Output = StoreResult<Option<Box<dyn RevocationListener>>>> + Send + '_;
}


/// A statement and its values, in placeholder order (`$1`, `$2`, …).
pub struct Query {
    pub(crate) sql: Cow<'static, str>,
    pub(crate) values: Vec<Value>,
}

pub(crate) fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query { sql: sql.into(), values: Vec::new() }
}

impl Query {
    pub(crate) fn bind(mut self, value: impl Into<Value>) -> Self {
        self.values.push(value.into());
        self
    }

    pub(crate) fn bind_all(mut self, values: impl IntoIterator<Item = Value>) -> Self {
        self.values.extend(values);
        self
    }

    pub(crate) async fn execute<T: Target>(self, on: T) -> StoreResult<u64> {
        Ok(T::Db::execute(on.on(), self).await?)
    }

    pub(crate) async fn fetch_optional<T: Target>(self, on: T) -> StoreResult<Option<Row<T::Db>>> {
        Ok(T::Db::fetch_optional(on.on(), self).await?.map(Row))
    }

    pub(crate) async fn fetch_one<T: Target>(self, on: T) -> StoreResult<Row<T::Db>> {
        T::Db::fetch_optional(on.on(), self).await?.map(Row).ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    pub(crate) async fn fetch_all<T: Target>(self, on: T) -> StoreResult<Vec<Row<T::Db>>> {
        Ok(T::Db::fetch_all(on.on(), self).await?.into_iter().map(Row).collect())
    }
}

/// Where a statement runs: on a pool (any of its connections) or inside a transaction.
pub enum On<'c, DB: Database> {
    Pool(&'c Pool<DB>),
    Connection(&'c mut DB::Connection),
}

/// What a [`Query`] runs on. The database is an associated type, so it is inferred from the argument. No
/// lifetime parameter: the impls hold for every lifetime, which async code that must be `Send` needs.
pub(crate) trait Target: Sized {
    type Db: Backend;
    fn on<'a>(self) -> On<'a, Self::Db>
    where
        Self: 'a;
}

impl<DB: Backend> Target for &Pool<DB> {
    type Db = DB;
    fn on<'a>(self) -> On<'a, DB>
    where
        Self: 'a,
    {
        On::Pool(self)
    }
}

impl<DB: Backend> Target for &mut Transaction<'_, DB> {
    type Db = DB;
    fn on<'a>(self) -> On<'a, DB>
    where
        Self: 'a,
    {
        On::Connection(&mut **self)
    }
}

/// A row as the database returned it; columns are read by name, as the type asked for.
pub(crate) struct Row<DB: Backend>(DB::Row);

impl<DB: Backend> Row<DB> {
    pub(crate) fn get<T: FromValue>(&self, column: &str) -> StoreResult<T> {
        T::from_value(DB::read(&self.0, column, T::KIND)?, column)
    }

    /// A column as the portable type `kind` names (for copying tables).
    pub(crate) fn value(&self, column: &str, kind: ColumnType) -> StoreResult<Value> {
        Ok(DB::read(&self.0, column, kind)?)
    }
}

/// A Rust type a column can be read as.
pub(crate) trait FromValue: Sized {
    const KIND: ColumnType;
    fn from_value(value: Value, column: &str) -> StoreResult<Self>;
}

fn null(column: &str) -> StoreError {
    StoreError::Corrupt(format!("{column} is NULL"))
}

fn mismatch(column: &str) -> StoreError {
    StoreError::Corrupt(format!("{column} was read as another type"))
}

impl FromValue for Option<i64> {
    const KIND: ColumnType = ColumnType::Int;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        match value {
            Value::Int(value) => Ok(value),
            _ => Err(mismatch(column)),
        }
    }
}
impl FromValue for Option<String> {
    const KIND: ColumnType = ColumnType::Text;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        match value {
            Value::Text(value) => Ok(value),
            _ => Err(mismatch(column)),
        }
    }
}
impl FromValue for Option<Vec<u8>> {
    const KIND: ColumnType = ColumnType::Bytes;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        match value {
            Value::Bytes(value) => Ok(value),
            _ => Err(mismatch(column)),
        }
    }
}
impl FromValue for Option<bool> {
    const KIND: ColumnType = ColumnType::Bool;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        match value {
            Value::Bool(value) => Ok(value),
            _ => Err(mismatch(column)),
        }
    }
}
impl FromValue for i64 {
    const KIND: ColumnType = ColumnType::Int;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        Option::<i64>::from_value(value, column)?.ok_or_else(|| null(column))
    }
}
impl FromValue for String {
    const KIND: ColumnType = ColumnType::Text;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        Option::<String>::from_value(value, column)?.ok_or_else(|| null(column))
    }
}
impl FromValue for Vec<u8> {
    const KIND: ColumnType = ColumnType::Bytes;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        Option::<Vec<u8>>::from_value(value, column)?.ok_or_else(|| null(column))
    }
}
impl FromValue for bool {
    const KIND: ColumnType = ColumnType::Bool;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        Option::<bool>::from_value(value, column)?.ok_or_else(|| null(column))
    }
}
impl FromValue for Timestamp {
    const KIND: ColumnType = ColumnType::Int;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        i64::from_value(value, column).map(Timestamp::from_millis)
    }
}
impl FromValue for Option<Timestamp> {
    const KIND: ColumnType = ColumnType::Int;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        Ok(Option::<i64>::from_value(value, column)?.map(Timestamp::from_millis))
    }
}
impl FromValue for UserId {
    const KIND: ColumnType = ColumnType::Int;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        i64::from_value(value, column).map(UserId)
    }
}
impl FromValue for Option<UserId> {
    const KIND: ColumnType = ColumnType::Int;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        Ok(Option::<i64>::from_value(value, column)?.map(UserId))
    }
}
impl FromValue for TokenHash {
    const KIND: ColumnType = ColumnType::Bytes;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        let bytes = Vec::<u8>::from_value(value, column)?;
        TokenHash::from_stored(&bytes).ok_or_else(|| StoreError::Corrupt(format!("{column} is not 32 bytes")))
    }
}
impl FromValue for Option<TokenHash> {
    const KIND: ColumnType = ColumnType::Bytes;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        match Option::<Vec<u8>>::from_value(value, column)? {
            Some(bytes) => {
                TokenHash::from_stored(&bytes).map(Some).ok_or_else(|| StoreError::Corrupt(format!("{column} is not 32 bytes")))
            }
            None => Ok(None),
        }
    }
}
impl FromValue for ClientId {
    const KIND: ColumnType = ColumnType::Text;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        String::from_value(value, column).map(ClientId::from_stored)
    }
}
impl FromValue for ScopeSet {
    const KIND: ColumnType = ColumnType::Text;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        let text = String::from_value(value, column)?;
        ScopeSet::parse_delimited(&text).map_err(|error| StoreError::Corrupt(error.0))
    }
}

/// Builds the driver's statement: the one place values meet sqlx's `Encode` bounds, shared by both impls.
pub(crate) fn sqlx_query<'q, DB>(query: &'q Query) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q [u8]>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<bool>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut statement = sqlx::query::<DB>(&query.sql);
    for value in &query.values {
        statement = match value {
            Value::Int(value) => statement.bind(*value),
            Value::Text(value) => statement.bind(value.as_deref()),
            Value::Bytes(value) => statement.bind(value.as_deref()),
            Value::Bool(value) => statement.bind(*value),
        };
    }
    statement
}

/// Reads one column: the one place rows meet sqlx's `Decode` bounds, shared by both impls.
pub(crate) fn read_column<R>(row: &R, column: &str, kind: ColumnType) -> sqlx::Result<Value>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(match kind {
        ColumnType::Int => Value::Int(row.try_get(column)?),
        ColumnType::Text => Value::Text(row.try_get(column)?),
        ColumnType::Bytes => Value::Bytes(row.try_get(column)?),
        ColumnType::Bool => Value::Bool(row.try_get(column)?),
    })
}

pub(crate) fn is_unique_violation(error: &StoreError) -> bool {
    match error {
        StoreError::Database(error) => error.as_database_error().is_some_and(|db| db.is_unique_violation()),
        _ => false,
    }
}

// Ids read as their own types: a column holds one kind of id.
impl FromValue for OrganizationId {
    const KIND: ColumnType = ColumnType::Int;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        i64::from_value(value, column).map(OrganizationId)
    }
}
impl FromValue for Option<OrganizationId> {
    const KIND: ColumnType = ColumnType::Int;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        Option::<i64>::from_value(value, column).map(|id| id.map(OrganizationId))
    }
}
impl FromValue for TeamId {
    const KIND: ColumnType = ColumnType::Int;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        i64::from_value(value, column).map(TeamId)
    }
}
impl FromValue for Option<TeamId> {
    const KIND: ColumnType = ColumnType::Int;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        Option::<i64>::from_value(value, column).map(|id| id.map(TeamId))
    }
}
impl FromValue for GrantId {
    const KIND: ColumnType = ColumnType::Int;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        i64::from_value(value, column).map(GrantId)
    }
}
impl FromValue for Option<GrantId> {
    const KIND: ColumnType = ColumnType::Int;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        Option::<i64>::from_value(value, column).map(|id| id.map(GrantId))
    }
}
impl FromValue for FamilyId {
    const KIND: ColumnType = ColumnType::Text;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        String::from_value(value, column).map(FamilyId)
    }
}
impl FromValue for Jti {
    const KIND: ColumnType = ColumnType::Text;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        String::from_value(value, column).map(Jti)
    }
}
impl FromValue for Kid {
    const KIND: ColumnType = ColumnType::Text;
    fn from_value(value: Value, column: &str) -> StoreResult<Self> {
        String::from_value(value, column).map(Kid)
    }
}

/// One connection pool's occupancy at a moment, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// `reads` and `writes` on SQLite (one writing connection beside the readers); `shared` on PostgreSQL,
    /// where reads and writes use one pool.
    pub pool: &'static str,
    /// Connections open, idle ones included.
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// How busy a store's pools are. A supertrait of [`crate::Store`], so a `DynStore` answers it.
pub trait PoolStatistics {
    fn pool_stats(&self) -> Vec<PoolStats>;
}

/// Whether opening a store may create it. Only `serve` and `migrate --to` create stores: any other
/// command pointed at the wrong path must say so, not leave an empty store there and then report that the
/// user it was asked about does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// A missing SQLite file is created; an empty database gets the tables.
    CreateIfMissing,
    /// The store must already be there, set up by an earlier start: a missing SQLite file, or a database
    /// without Gatehouse's tables, is [`StoreError::Missing`](crate::StoreError::Missing). Pending migrations still run.
    MustExist,
}
