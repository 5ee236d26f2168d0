//! A certificate authority made at test time (feature `test-ca`, for tests only): a CA
//! certificate in PEM for clients to trust, and server certificates it signs for `localhost`
//! and `127.0.0.1`, written as files the servers' configurations name.

use std::path::{Path, PathBuf};

use crate::NetError;
use crate::server::TlsFiles;

/// A throwaway CA.
#[derive(Debug)]
pub struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    /// The CA certificate (PEM) to trust.
    pub ca_pem: String,
}

fn rc(e: rcgen::Error) -> NetError {
    NetError::TlsConfig(e.to_string())
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Result<Self, NetError> {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(rc)?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().map_err(rc)?;
        let cert = params.self_signed(&key).map_err(rc)?;
        Ok(Self {
            ca_pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        })
    }

    /// Writes the CA certificate to `dir/NAME.pem` and returns the path.
    pub fn write_ca(&self, dir: &Path, name: &str) -> Result<PathBuf, NetError> {
        let path = dir.join(format!("{name}.pem"));
        write(&path, self.ca_pem.as_bytes())?;
        Ok(path)
    }

    /// A server certificate for `names` (DNS names or IP addresses), written to
    /// `dir/NAME.crt` and `dir/NAME.key`.
    pub fn issue(&self, dir: &Path, name: &str, names: &[&str]) -> Result<TlsFiles, NetError> {
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let mut params = rcgen::CertificateParams::new(names).map_err(rc)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().map_err(rc)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(rc)?;
        let files = TlsFiles {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        };
        write(&files.cert, cert.pem().as_bytes())?;
        write(&files.key, key.serialize_pem().as_bytes())?;
        Ok(files)
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), NetError> {
    std::fs::write(path, bytes).map_err(|e| NetError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}
