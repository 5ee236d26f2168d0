//! QR codes: render text to SVG or PNG (ECC level M), and read QR codes back out of photos.
//!
//! Text made only of QR-alphanumeric characters (every Spondon token: `SPONDON:1:` + base45) is
//! encoded as one alphanumeric segment, 5.5 bits per character; any other text falls back to
//! the qrcode crate's optimal segmentation.

use std::io::Cursor;

use qrcode::bits::Bits;
use qrcode::{EcLevel, QrCode, Version};

use crate::token::base45::is_qr_alphanumeric;

/// Largest image file accepted by [`decode_image`].
pub const MAX_IMAGE_BYTES: usize = 20 << 20;
/// Largest image dimension accepted by [`decode_image`].
pub const MAX_IMAGE_DIMENSION: u32 = 8_000;

/// What can go wrong rendering or reading a QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    #[error("the text is too long for any QR code at error correction level M")]
    TooLong,
    #[error("the QR code could not be built: {0}")]
    Encode(String),
    #[error("the PNG could not be written: {0}")]
    Png(String),
    #[error("the image is empty")]
    EmptyImage,
    #[error("the image is {len} bytes; at most {max} are accepted")]
    ImageTooLarge { len: usize, max: usize },
    #[error("the image is not a PNG or JPEG that can be read: {0}")]
    ImageFormat(String),
    #[error("no QR code was found in the image")]
    NoQrCode,
    #[error("a QR code was found but could not be read: {0}")]
    Unreadable(String),
}

impl QrError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            QrError::TooLong => "qr_too_long",
            QrError::Encode(_) => "qr_encode_failed",
            QrError::Png(_) => "png_write_failed",
            QrError::EmptyImage => "image_empty",
            QrError::ImageTooLarge { .. } => "image_too_large",
            QrError::ImageFormat(_) => "image_unreadable",
            QrError::NoQrCode => "no_qr_code",
            QrError::Unreadable(_) => "qr_unreadable",
        }
    }
}

/// A rendered QR code.
#[derive(Clone)]
pub struct Qr {
    code: QrCode,
    alphanumeric: bool,
}

impl std::fmt::Debug for Qr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qr")
            .field("version", &self.version())
            .field("alphanumeric", &self.alphanumeric)
            .finish()
    }
}

/// Encodes `text` at ECC level M in the smallest version that holds it.
pub fn encode(text: &str) -> Result<Qr, QrError> {
    if is_qr_alphanumeric(text) {
        for v in 1..=40 {
            let mut bits = Bits::new(Version::Normal(v));
            if bits.push_alphanumeric_data(text.as_bytes()).is_err()
                || bits.push_terminator(EcLevel::M).is_err()
            {
                continue;
            }
            let code =
                QrCode::with_bits(bits, EcLevel::M).map_err(|e| QrError::Encode(e.to_string()))?;
            return Ok(Qr {
                code,
                alphanumeric: true,
            });
        }
        return Err(QrError::TooLong);
    }
    let code =
        QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| match e {
            qrcode::types::QrError::DataTooLong => QrError::TooLong,
            other => QrError::Encode(other.to_string()),
        })?;
    Ok(Qr {
        code,
        alphanumeric: false,
    })
}

impl Qr {
    /// The QR version (1–40).
    pub fn version(&self) -> i16 {
        match self.code.version() {
            Version::Normal(v) | Version::Micro(v) => v,
        }
    }

    /// Whether the whole text went into one alphanumeric segment.
    pub fn is_alphanumeric(&self) -> bool {
        self.alphanumeric
    }

    /// Modules per side.
    pub fn width(&self) -> usize {
        self.code.width()
    }

    /// An SVG document (black on white, 4-module quiet zone, 8 units per module).
    pub fn to_svg(&self) -> String {
        self.code
            .render::<qrcode::render::svg::Color<'_>>()
            .module_dimensions(8, 8)
            .quiet_zone(true)
            .build()
    }

    /// A greyscale PNG with `module_px` pixels per module (clamped to 1..=32) and a quiet zone.
    pub fn to_png(&self, module_px: u32) -> Result<Vec<u8>, QrError> {
        let px = module_px.clamp(1, 32);
        let img = self
            .code
            .render::<image::Luma<u8>>()
            .module_dimensions(px, px)
            .quiet_zone(true)
            .build();
        let mut out = Vec::new();
        image::DynamicImage::ImageLuma8(img)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .map_err(|e| QrError::Png(e.to_string()))?;
        Ok(out)
    }
}

/// Reads every QR code in a PNG or JPEG image (e.g. a photo of a grant). Returns their texts in
/// the order found; an error if none can be read.
pub fn decode_image(bytes: &[u8]) -> Result<Vec<String>, QrError> {
    if bytes.is_empty() {
        return Err(QrError::EmptyImage);
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(QrError::ImageTooLarge {
            len: bytes.len(),
            max: MAX_IMAGE_BYTES,
        });
    }
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| QrError::ImageFormat(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_DIMENSION);
    limits.max_image_height = Some(MAX_IMAGE_DIMENSION);
    limits.max_alloc = Some(512 << 20);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| QrError::ImageFormat(e.to_string()))?
        .into_luma8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        u32::try_from(x)
            .ok()
            .zip(u32::try_from(y).ok())
            .and_then(|(x, y)| img.get_pixel_checked(x, y))
            .map_or(255, |p| p.0[0])
    });
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err(QrError::NoQrCode);
    }
    let mut texts = Vec::new();
    let mut last_error = None;
    for grid in grids {
        match grid.decode() {
            Ok((_, text)) => texts.push(text),
            Err(e) => last_error = Some(e.to_string()),
        }
    }
    match (texts.is_empty(), last_error) {
        (false, _) => Ok(texts),
        (true, Some(e)) => Err(QrError::Unreadable(e)),
        (true, None) => Err(QrError::NoQrCode),
    }
}
