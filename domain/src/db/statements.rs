//! Statements that run on either kind of connection: a pool's (sqlx, either
//! database) or a group commit's own SQLite connection (`own_connection`),
//! which runs them on its thread without a hand-off each. Code that writes
//! in groups is written once against `Statements`, with its arguments and
//! rows in the few types both sides read.

use std::{borrow::Cow, future::Future};

use anyhow::Context;
use sqlx::{Row, any::AnyRow};

use super::{Backend, DbConnection};
use crate::ids::{CampaignId, MessageId, OrganisationId};

/// One argument of a statement. Both kinds are nullable and keep their
/// type when null, which PostgreSQL needs.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Int(Option<i64>),
    Text(Option<Cow<'a, str>>),
}

impl From<i64> for Arg<'_> {
    fn from(value: i64) -> Self {
        Self::Int(Some(value))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(value: Option<i64>) -> Self {
        Self::Int(value)
    }
}

impl From<MessageId> for Arg<'_> {
    fn from(value: MessageId) -> Self {
        Self::Int(Some(value.0))
    }
}

impl From<CampaignId> for Arg<'_> {
    fn from(value: CampaignId) -> Self {
        Self::Int(Some(value.0))
    }
}

impl From<OrganisationId> for Arg<'_> {
    fn from(value: OrganisationId) -> Self {
        Self::Int(Some(value.0))
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(value: &'a str) -> Self {
        Self::Text(Some(Cow::Borrowed(value)))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Self::Text(value.map(Cow::Borrowed))
    }
}

impl From<String> for Arg<'_> {
    fn from(value: String) -> Self {
        Self::Text(Some(Cow::Owned(value)))
    }
}

impl From<Option<String>> for Arg<'_> {
    fn from(value: Option<String>) -> Self {
        Self::Text(value.map(Cow::Owned))
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Self::Int(Some(value)) => ToSqlOutput::from(*value),
            Self::Text(Some(value)) => ToSqlOutput::Borrowed(ValueRef::Text(value.as_bytes())),
            Self::Int(None) | Self::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// A value read from a row's column, by either kind of connection.
pub trait Column: Sized {
    fn from_any(row: &AnyRow, at: usize) -> Result<Self, sqlx::Error>;
    fn from_sqlite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self>;
}

macro_rules! plain_column {
    ($($type:ty),*) => {$(
        impl Column for $type {
            fn from_any(row: &AnyRow, at: usize) -> Result<Self, sqlx::Error> {
                row.try_get(at)
            }
            fn from_sqlite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
                row.get(at)
            }
        }
    )*};
}
plain_column!(i64, String, Option<i64>, Option<String>);

macro_rules! id_column {
    ($($type:ident),*) => {$(
        impl Column for $type {
            fn from_any(row: &AnyRow, at: usize) -> Result<Self, sqlx::Error> {
                row.try_get(at).map($type)
            }
            fn from_sqlite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
                row.get(at).map($type)
            }
        }
    )*};
}
id_column!(MessageId, CampaignId, OrganisationId);

/// A row: a column, or a tuple of columns in the statement's order.
pub trait Columns: Sized + Send {
    fn from_any(row: &AnyRow) -> Result<Self, sqlx::Error>;
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

impl<T: Column + Send> Columns for T {
    fn from_any(row: &AnyRow) -> Result<Self, sqlx::Error> {
        T::from_any(row, 0)
    }
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        T::from_sqlite(row, 0)
    }
}

macro_rules! tuple_columns {
    ($(($($name:ident $at:tt),*)),*) => {$(
        impl<$($name: Column + Send),*> Columns for ($($name,)*) {
            fn from_any(row: &AnyRow) -> Result<Self, sqlx::Error> {
                Ok(($($name::from_any(row, $at)?,)*))
            }
            fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($($name::from_sqlite(row, $at)?,)*))
            }
        }
    )*};
}
tuple_columns!(
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
);

/// Where statements run. `keep`: keep the statement prepared for the next
/// run; only for text that repeats (a group's text changes with its size,
/// and kept it would push out the statements run for every message). A
/// pool's connections follow it; a group commit's own connection, which
/// runs nothing but groups, keeps every text (see `own_connection`).
pub trait Statements: Send {
    fn backend(&self) -> Backend;

    /// Runs a statement; returns the rows it changed.
    fn execute(
        &mut self,
        sql: &str,
        args: Vec<Arg<'_>>,
        keep: bool,
    ) -> impl Future<Output = anyhow::Result<u64>> + Send;

    /// Runs a statement; returns its rows.
    fn fetch<R: Columns>(
        &mut self,
        sql: &str,
        args: Vec<Arg<'_>>,
        keep: bool,
    ) -> impl Future<Output = anyhow::Result<Vec<R>>> + Send;
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg<'_>],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Int(value) => query.bind(*value),
            Arg::Text(value) => query.bind(value.as_deref()),
        };
    }
    query
}

impl Statements for DbConnection {
    fn backend(&self) -> Backend {
        Backend::of_connection(self)
    }

    async fn execute(&mut self, sql: &str, args: Vec<Arg<'_>>, keep: bool) -> anyhow::Result<u64> {
        let query = bind_all(sqlx::query(sql).persistent(keep), &args);
        Ok(query.execute(self).await?.rows_affected())
    }

    async fn fetch<R: Columns>(
        &mut self,
        sql: &str,
        args: Vec<Arg<'_>>,
        keep: bool,
    ) -> anyhow::Result<Vec<R>> {
        let query = bind_all(sqlx::query(sql).persistent(keep), &args);
        let rows = query.fetch_all(self).await?;
        rows.iter()
            .map(|row| R::from_any(row).context("a row of an unexpected shape"))
            .collect()
    }
}

/// A transaction and a pooled connection run statements on their connection.
macro_rules! through_connection {
    ($($type:ty),*) => {$(
        impl Statements for $type {
            fn backend(&self) -> Backend {
                Backend::of_connection(self)
            }

            fn execute(
                &mut self,
                sql: &str,
                args: Vec<Arg<'_>>,
                keep: bool,
            ) -> impl Future<Output = anyhow::Result<u64>> + Send {
                (**self).execute(sql, args, keep)
            }

            fn fetch<R: Columns>(
                &mut self,
                sql: &str,
                args: Vec<Arg<'_>>,
                keep: bool,
            ) -> impl Future<Output = anyhow::Result<Vec<R>>> + Send {
                (**self).fetch(sql, args, keep)
            }
        }
    )*};
}
through_connection!(
    super::WriteTransaction,
    sqlx::pool::PoolConnection<sqlx::Any>
);
