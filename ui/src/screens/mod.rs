//! The screens.

pub mod access;
pub mod emergency;
pub mod export;
pub mod family;
pub mod first_run;
pub mod grants;
pub mod hospitals;
pub mod import;
pub mod lost_phone;
pub mod record;
pub mod records;
pub mod settings;
pub mod share;
pub mod unlock;
