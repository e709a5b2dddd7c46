//! Wire types of the HTTP Device API (`onep:v1`), shared by the device client and the hub.
//!
//! Everything here is pure: no IO, no async. Both ends format and parse through the
//! same functions so they cannot drift apart.
//!
//! - [`paths`], [`header`], [`content_type`]: the constants of the protocol.
//! - [`Procedure`]: one variant per procedure, with its method, path and name.
//! - [`form`]: strict `application/x-www-form-urlencoded` codec ([`Form`]).
//! - [`read_query`]: the bare-name query of read / hybrid / long poll.
//! - [`activate`]: the activation body ([`ActivateRequest`]).
//! - [`token`]: 40-character CIK generation and validation.
//! - [`content`]: content list, content info CSV line, download query.
//! - [`range`]: `Range` / `Content-Range` (download resume, 206 / 416).
//! - [`time`]: `If-Modified-Since` / `Last-Modified` (unix seconds or HTTP-date).
//! - [`timeout`]: `Request-Timeout` of long polls.
//! - [`record`]: historical record bodies and the 1-second conflict rule (409).
#![deny(missing_docs)]

pub mod activate;
pub mod content;
mod error;
pub mod form;
pub mod header;
pub mod paths;
mod procedure;
pub mod range;
pub mod read_query;
pub mod record;
pub mod time;
pub mod timeout;
pub mod token;

pub use activate::ActivateRequest;
pub use content::{ContentInfo, DownloadQuery};
pub use error::WireError;
pub use form::Form;
pub use header::content_type;
pub use procedure::Procedure;
pub use range::{ByteRangeSpec, ContentRange, ResolvedRange};
pub use record::{RecordBody, RecordConflict, RecordSeries};
pub use timeout::RequestTimeout;
