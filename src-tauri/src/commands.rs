//! The Tauri commands: one short wrapper each over the wallet session. Names, arguments and
//! answers are those of `spondon_app_api::cmd`; every command takes at most one argument, `req`.

use std::sync::Mutex;

use spondon_app_api::{self as api, ApiError, codes, event};
use spondon_wallet::app as conv;
use spondon_wallet::browse::Filter;
use spondon_wallet::delegates::DelegationRequest;
use spondon_wallet::export::ExportRequest;
use spondon_wallet::grants::{Duration, GrantAudience, GrantRequest, QrFormat, Scope, render_qr};
use spondon_wallet::lost_phone::LostPhoneEvent;
use spondon_wallet::{EnrollmentCode, Wallet};
use tauri::{AppHandle, Emitter as _, Runtime, State};

use crate::files::{decode_b64, fresh_path, save};
use crate::state::AppState;

type Res<T> = Result<T, ApiError>;

/// The command table for `Builder::invoke_handler`.
pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app_status,
        passphrase_strength,
        create_wallet,
        restore_wallet,
        unlock,
        lock,
        touch,
        enroll,
        list_hospitals,
        sync,
        list_records,
        get_record,
        document_preview,
        save_document,
        add_doctor,
        list_doctors,
        create_grant,
        list_grants,
        revoke_grant,
        revoke_all,
        list_receipts,
        get_emergency_policy,
        set_emergency_policy,
        dispute_emergency,
        lost_phone,
        key_rotation_status,
        rebind,
        delegate_key,
        create_delegation,
        list_delegations,
        revoke_delegation,
        add_delegation,
        list_delegated_patients,
        sync_delegated,
        share_as_delegate,
        export,
        import_card,
        get_settings,
        update_settings,
        update_trust_list,
        backup_now,
        change_passphrase,
        about,
    ]
}

fn emit<R: Runtime, T: serde::Serialize + Clone>(app: &AppHandle<R>, name: &str, payload: T) {
    // A window that is gone cannot be told; the command's answer still reports the outcome.
    let _ = app.emit(name, payload);
}

fn text_or_image(input: &api::TextOrImage) -> Res<Vec<u8>> {
    match input {
        api::TextOrImage::Text { text } => Ok(text.trim().as_bytes().to_vec()),
        api::TextOrImage::Image { image_base64 } => decode_b64(image_base64, "image"),
    }
}

async fn authorize(w: &Wallet, p: &api::Passphrase) -> Res<spondon_wallet::Authorization> {
    Ok(w.authorize(p.0.as_bytes()).await?)
}

/// The phone's biometric check instead of the passphrase (phones whose key is in the platform
/// keystore).
#[cfg(mobile)]
async fn biometric_authorization<R: Runtime>(
    app: &AppHandle<R>,
    w: &Wallet,
) -> Res<spondon_wallet::Authorization> {
    crate::mobile::biometric_authorization(app, w, "Confirm sharing your health records").await
}

#[cfg(not(mobile))]
async fn biometric_authorization<R: Runtime>(
    _app: &AppHandle<R>,
    _w: &Wallet,
) -> Res<spondon_wallet::Authorization> {
    Err(ApiError::new(
        codes::UNSUPPORTED,
        "biometric confirmation is available on phones; enter the passphrase",
    ))
}

/// [`api::cmd::APP_STATUS`]
#[tauri::command]
async fn app_status(state: State<'_, AppState>) -> Res<api::AppStatus> {
    state.status().await
}

/// [`api::cmd::PASSPHRASE_STRENGTH`]
#[tauri::command]
fn passphrase_strength(req: api::PassphraseStrengthRequest) -> api::PassphraseStrength {
    spondon_wallet::passphrase_strength::estimate(&req.passphrase.0).into()
}

/// [`api::cmd::CREATE_WALLET`]
#[tauri::command]
async fn create_wallet(
    state: State<'_, AppState>,
    req: api::CreateWalletRequest,
) -> Res<api::AppStatus> {
    let trust = match (req.trust_list, req.root_key) {
        (Some(list), Some(key)) => {
            let jwk = serde_json::from_str(key.trim()).map_err(|e| {
                ApiError::new(
                    codes::BAD_TRUST_LIST,
                    format!("the root key is not a JWK: {e}"),
                )
            })?;
            Some((list, jwk))
        }
        (None, None) => None,
        _ => {
            return Err(ApiError::new(
                codes::INVALID,
                "give both the trust list and the root key, or neither",
            ));
        }
    };
    state
        .session
        .create(req.passphrase.0.as_bytes(), req.keep_in_keychain, trust)
        .await?;
    state.status().await
}

/// [`api::cmd::RESTORE_WALLET`]
#[tauri::command]
async fn restore_wallet<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    req: api::RestoreRequest,
) -> Res<api::RestoreResult> {
    let bytes = decode_b64(&req.backup_base64, "backup file")?;
    let on = |p: spondon_wallet::Progress| emit(&app, event::RESTORE, event::TaskProgress::from(p));
    let s = state
        .session
        .restore(
            bytes,
            req.backup_passphrase.0.as_bytes(),
            req.new_passphrase.0.as_bytes(),
            req.keep_in_keychain,
            &on,
        )
        .await?;
    Ok(api::RestoreResult {
        hospitals: s.peers as u64,
        records: s.records as u64,
        grants: s.grants as u64,
        receipts: s.receipts as u64,
        status: state.status().await?,
    })
}

/// [`api::cmd::UNLOCK`]
#[tauri::command]
async fn unlock<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    req: api::UnlockRequest,
) -> Res<api::AppStatus> {
    if req.biometric {
        biometric_unlock(&app, &state).await?;
    } else {
        state.session.unlock(req.passphrase.0.as_bytes()).await?;
    }
    state.status().await
}

/// The phone's biometric check, then the wallet opened from the platform keystore.
#[cfg(mobile)]
async fn biometric_unlock<R: Runtime>(app: &AppHandle<R>, state: &AppState) -> Res<()> {
    crate::mobile::biometric_check(app, "Unlock your health records").await?;
    Ok(state.session.unlock_by_platform().await?)
}

#[cfg(not(mobile))]
async fn biometric_unlock<R: Runtime>(_app: &AppHandle<R>, _state: &AppState) -> Res<()> {
    Err(ApiError::new(
        codes::UNSUPPORTED,
        "biometric unlock is available on phones; enter the passphrase",
    ))
}

/// [`api::cmd::LOCK`]
#[tauri::command]
async fn lock<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> Res<api::AppStatus> {
    if state.session.lock().await? {
        emit(
            &app,
            event::LOCKED,
            event::Locked {
                reason: event::LockReason::Requested,
            },
        );
    }
    state.status().await
}

/// [`api::cmd::TOUCH`]
#[tauri::command]
fn touch(state: State<'_, AppState>) {
    state.session.touch();
}

/// [`api::cmd::ENROLL`]
#[tauri::command]
async fn enroll(state: State<'_, AppState>, req: api::EnrollRequest) -> Res<api::Hospital> {
    let code = match &req.input {
        api::TextOrImage::Text { text } => EnrollmentCode::parse(text)?,
        api::TextOrImage::Image { image_base64 } => {
            EnrollmentCode::from_image_async(decode_b64(image_base64, "image")?).await?
        }
    };
    let w = state.session.wallet().await?;
    let st = w.enroll(&code).await?;
    w.app_hospitals()
        .await?
        .into_iter()
        .find(|h| h.peer_url == st.url)
        .ok_or_else(|| ApiError::new(codes::INTERNAL, "the enrolled hospital is not listed"))
}

/// [`api::cmd::LIST_HOSPITALS`]
#[tauri::command]
async fn list_hospitals(state: State<'_, AppState>) -> Res<Vec<api::Hospital>> {
    Ok(state.session.wallet().await?.app_hospitals().await?)
}

/// [`api::cmd::SYNC`]
#[tauri::command]
async fn sync<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> Res<api::SyncSummary> {
    let w = state.session.wallet().await?;
    let tracker = Mutex::new(conv::SyncTracker::new(&w.peers().await?));
    let on = |e: spondon_wallet::SyncEvent| {
        if let Ok(mut t) = tracker.lock() {
            emit(&app, event::SYNC, t.update(&e));
        }
    };
    let report = w.sync(&on).await?;
    if let Ok(t) = tracker.lock() {
        emit(&app, event::SYNC, t.snapshot(true));
    }
    Ok(conv::sync_summary(&report, &w.hospital_names().await?))
}

/// [`api::cmd::LIST_RECORDS`]
#[tauri::command]
async fn list_records(
    state: State<'_, AppState>,
    req: api::RecordFilter,
) -> Res<Vec<api::RecordSummary>> {
    let filter = Filter {
        kind: req.kind.map(|k| conv::kind_name(k).to_owned()),
        hospital: req.hospital,
        from: req.from,
        to: req.to,
        text: req.text,
    };
    let w = state.session.wallet().await?;
    Ok(w.records(&filter).await?.iter().map(Into::into).collect())
}

/// [`api::cmd::GET_RECORD`]
#[tauri::command]
async fn get_record(state: State<'_, AppState>, req: api::RecordRequest) -> Res<api::RecordDetail> {
    let (view, proof) = state.session.wallet().await?.record_detail(&req.id).await?;
    Ok(conv::record_detail(&view, proof.as_ref()))
}

/// [`api::cmd::DOCUMENT_PREVIEW`]
#[tauri::command]
async fn document_preview(
    state: State<'_, AppState>,
    req: api::RecordRequest,
) -> Res<api::DocumentPreview> {
    use base64::Engine as _;
    let w = state.session.wallet().await?;
    // Checked against the signed card as it is read.
    let (doc, bytes) = w.document_file(&req.id).await?;
    let r = w.record(&doc.record_id).await?;
    let image_data_url = doc.content_type.starts_with("image/").then(|| {
        format!(
            "data:{};base64,{}",
            doc.content_type,
            base64::engine::general_purpose::STANDARD.encode(&bytes[..])
        )
    });
    Ok(api::DocumentPreview {
        record_id: doc.record_id,
        content_type: doc.content_type.to_owned(),
        size: doc.size,
        image_data_url,
        signed_by: r.hospital,
        signed_at: r.issued_at,
    })
}

/// [`api::cmd::SAVE_DOCUMENT`]
#[tauri::command]
async fn save_document(
    state: State<'_, AppState>,
    req: api::RecordRequest,
) -> Res<api::SavedDocument> {
    let w = state.session.wallet().await?;
    let (doc, bytes) = w.document_file(&req.id).await?;
    let name = spondon_wallet::documents::file_name(&doc);
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name.as_str(), "bin"));
    let path = fresh_path(&state.export_dir, stem, ext).await?;
    save(&path, &bytes).await?;
    Ok(api::SavedDocument {
        record_id: doc.record_id,
        path: path.display().to_string(),
    })
}

/// [`api::cmd::ADD_DOCTOR`]
#[tauri::command]
async fn add_doctor(
    state: State<'_, AppState>,
    req: api::AddDoctorRequest,
) -> Res<api::DoctorInfo> {
    let input = text_or_image(&req.input)?;
    Ok((&state.session.wallet().await?.add_doctor(&input).await?).into())
}

/// [`api::cmd::LIST_DOCTORS`]
#[tauri::command]
async fn list_doctors(state: State<'_, AppState>) -> Res<Vec<api::DoctorInfo>> {
    let w = state.session.wallet().await?;
    Ok(w.doctors().await?.iter().map(Into::into).collect())
}

/// [`api::cmd::CREATE_GRANT`]
#[tauri::command]
async fn create_grant<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    req: api::CreateGrantRequest,
) -> Res<api::GrantCreated> {
    let w = state.session.wallet().await?;
    let doctor = w.doctor(&req.doctor_kid).await?;
    if req.categories.is_empty() && req.record_ids.is_empty() {
        return Err(ApiError::new(
            codes::INVALID,
            "choose record kinds or single records to share",
        ));
    }
    let secs = i64::try_from(req.duration_secs)
        .ok()
        .filter(|s| (60..=spondon_core::token::MAX_GRANT_LIFETIME).contains(s))
        .ok_or_else(|| ApiError::new(codes::INVALID, "a grant lasts from a minute to 400 days"))?;
    let auth = if req.confirm_with_biometrics {
        biometric_authorization(&app, &w).await?
    } else {
        authorize(&w, &req.passphrase).await?
    };
    let g = w
        .create_grant(
            &auth,
            &GrantRequest {
                audience: GrantAudience::Doctor(doctor.clone()),
                scope: Scope {
                    categories: req.categories.into_iter().map(conv::category).collect(),
                    record_ids: req.record_ids,
                },
                purpose: conv::purpose(req.purpose),
                duration: Duration::Seconds(secs),
                peers: vec![],
                use_limit: None,
                write: req.write,
            },
        )
        .await?;
    let qr_svg = String::from_utf8(render_qr(&g.text, QrFormat::Svg)?)
        .map_err(|_| ApiError::new(codes::INTERNAL, "the QR code is not text"))?;
    let now = spondon_core::NumericDate::now().seconds();
    Ok(api::GrantCreated {
        grant: conv::grant_info(&g, now, Some(&doctor.name)),
        qr_svg,
        text: g.text,
    })
}

/// [`api::cmd::LIST_GRANTS`]
#[tauri::command]
async fn list_grants(
    state: State<'_, AppState>,
    req: api::ListGrantsRequest,
) -> Res<Vec<api::GrantInfo>> {
    Ok(state
        .session
        .wallet()
        .await?
        .app_grants(req.active_only)
        .await?)
}

/// [`api::cmd::REVOKE_GRANT`]
#[tauri::command]
async fn revoke_grant(
    state: State<'_, AppState>,
    req: api::RevokeRequest,
) -> Res<api::RevokeResult> {
    let w = state.session.wallet().await?;
    w.grant(&req.grant_id).await?;
    let auth = authorize(&w, &req.passphrase).await?;
    let names = w.hospital_names().await?;
    let answers = w.revoke(&auth, &req.grant_id).await?;
    Ok(api::RevokeResult {
        answers: answers
            .iter()
            .map(|a| conv::peer_answer(a, &names))
            .collect(),
    })
}

/// [`api::cmd::REVOKE_ALL`]
#[tauri::command]
async fn revoke_all<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    req: api::RevokeAllRequest,
) -> Res<api::RevokeResult> {
    let w = state.session.wallet().await?;
    let auth = authorize(&w, &req.passphrase).await?;
    let names = w.hospital_names().await?;
    let so_far = Mutex::new(Vec::new());
    let on = |r: &spondon_wallet::grants::RevocationResult, done: u64, total: u64| {
        if let Ok(mut v) = so_far.lock() {
            v.push(conv::peer_answer(r, &names));
            let answers = v.clone();
            emit(
                &app,
                event::REVOKE_ALL,
                event::RevokeAllProgress {
                    done,
                    total,
                    answers,
                },
            );
        }
    };
    let answers = w.revoke_all_with_progress(&auth, &on).await?;
    Ok(api::RevokeResult {
        answers: answers
            .iter()
            .map(|a| conv::peer_answer(a, &names))
            .collect(),
    })
}

/// [`api::cmd::LIST_RECEIPTS`]
#[tauri::command]
async fn list_receipts(state: State<'_, AppState>) -> Res<Vec<api::Receipt>> {
    Ok(state.session.wallet().await?.app_receipts().await?)
}

/// [`api::cmd::GET_EMERGENCY_POLICY`]
#[tauri::command]
async fn get_emergency_policy(state: State<'_, AppState>) -> Res<api::EmergencyPolicyInfo> {
    Ok(state.session.wallet().await?.app_emergency_policy().await?)
}

/// [`api::cmd::SET_EMERGENCY_POLICY`]
#[tauri::command]
async fn set_emergency_policy(
    state: State<'_, AppState>,
    req: api::SetEmergencyPolicyRequest,
) -> Res<api::SetEmergencyPolicyResult> {
    let w = state.session.wallet().await?;
    let auth = authorize(&w, &req.passphrase).await?;
    Ok(w.app_set_emergency_policy(&auth, req.mode, &req.hospitals)
        .await?)
}

/// [`api::cmd::DISPUTE_EMERGENCY`]
#[tauri::command]
async fn dispute_emergency(
    state: State<'_, AppState>,
    req: api::DisputeEmergencyRequest,
) -> Res<api::DisputeEmergencyResult> {
    let w = state.session.wallet().await?;
    let auth = authorize(&w, &req.passphrase).await?;
    Ok(w.app_dispute_emergency(&auth, &req.access_id, &req.text)
        .await?)
}

/// [`api::cmd::LOST_PHONE`]
#[tauri::command]
async fn lost_phone<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    req: api::LostPhoneRequest,
) -> Res<api::LostPhoneResult> {
    let mut w = state.session.wallet_mut().await?;
    let so_far = Mutex::new(Vec::new());
    let on = |e: LostPhoneEvent| {
        if let LostPhoneEvent::Hospital {
            result,
            done,
            total,
        } = e
            && let Ok(mut v) = so_far.lock()
        {
            v.push(conv::lost_phone_hospital(&result));
            let hospitals = v.clone();
            emit(
                &app,
                event::LOST_PHONE,
                event::LostPhoneProgress {
                    done,
                    total,
                    hospitals,
                },
            );
        }
    };
    let r = w.lost_phone(req.passphrase.0.as_bytes(), &on).await?;
    Ok(api::LostPhoneResult {
        hospitals: r.hospitals.iter().map(conv::lost_phone_hospital).collect(),
        grants_revoked: r.grants_revoked,
        complete: r.complete,
    })
}

/// [`api::cmd::KEY_ROTATION_STATUS`]
#[tauri::command]
async fn key_rotation_status(state: State<'_, AppState>) -> Res<Option<api::KeyRotationInfo>> {
    Ok(state.session.wallet().await?.app_key_rotation().await?)
}

/// [`api::cmd::REBIND`]
#[tauri::command]
async fn rebind(state: State<'_, AppState>, req: api::RebindRequest) -> Res<api::Hospital> {
    let code = match &req.input {
        api::TextOrImage::Text { text } => EnrollmentCode::parse(text)?,
        api::TextOrImage::Image { image_base64 } => {
            EnrollmentCode::from_image_async(decode_b64(image_base64, "image")?).await?
        }
    };
    let mut w = state.session.wallet_mut().await?;
    let st = w
        .rebind_with_code(req.passphrase.0.as_bytes(), &code)
        .await?;
    let hospitals = w.app_hospitals().await?;
    hospitals
        .into_iter()
        .find(|h| h.peer_url == st.url)
        .ok_or_else(|| ApiError::new(codes::INTERNAL, "the hospital is not in the wallet"))
}

/// [`api::cmd::DELEGATE_KEY`]
#[tauri::command]
async fn delegate_key(state: State<'_, AppState>) -> Res<api::DelegateKey> {
    let w = state.session.wallet().await?;
    let text = serde_json::to_string(&w.public_key().to_jwk())
        .map_err(|e| ApiError::new(codes::INTERNAL, e.to_string()))?;
    let qr_svg = svg(&text)?;
    Ok(api::DelegateKey { text, qr_svg })
}

fn svg(text: &str) -> Res<String> {
    String::from_utf8(render_qr(text, QrFormat::Svg)?)
        .map_err(|_| ApiError::new(codes::INTERNAL, "the QR code is not text"))
}

/// [`api::cmd::CREATE_DELEGATION`]
#[tauri::command]
async fn create_delegation(
    state: State<'_, AppState>,
    req: api::CreateDelegationRequest,
) -> Res<api::DelegationInfo> {
    let w = state.session.wallet().await?;
    let jwk: spondon_core::keys::Jwk = serde_json::from_str(req.delegate_key.trim())
        .map_err(|_| ApiError::new(codes::INVALID, "the family member's key is not a key text"))?;
    if req.scopes.is_empty() {
        return Err(ApiError::new(codes::INVALID, "choose what they may do"));
    }
    if !(1..=400).contains(&req.days) {
        return Err(ApiError::new(
            codes::INVALID,
            "a delegation lasts from 1 to 400 days",
        ));
    }
    let auth = authorize(&w, &req.passphrase).await?;
    let d = w
        .delegate(
            &auth,
            &DelegationRequest {
                delegate_key: jwk,
                label: req.label,
                scopes: req.scopes.into_iter().map(conv::delegate_scope).collect(),
                categories: req.categories.into_iter().map(conv::category).collect(),
                duration: Duration::Seconds(i64::from(req.days) * 86_400),
                peers: vec![],
                minor: req.minor,
                other_guardian: None,
            },
        )
        .await?;
    let qr = svg(&d.text)?;
    Ok(conv::delegation_info(&d, qr))
}

/// [`api::cmd::LIST_DELEGATIONS`]
#[tauri::command]
async fn list_delegations(state: State<'_, AppState>) -> Res<Vec<api::DelegationInfo>> {
    let w = state.session.wallet().await?;
    let mut v = w.delegations().await?;
    v.sort_by_key(|d| std::cmp::Reverse(d.issued_at));
    v.iter()
        .map(|d| Ok(conv::delegation_info(d, svg(&d.text)?)))
        .collect()
}

/// [`api::cmd::REVOKE_DELEGATION`]
#[tauri::command]
async fn revoke_delegation(
    state: State<'_, AppState>,
    req: api::RevokeDelegationRequest,
) -> Res<api::RevokeResult> {
    let w = state.session.wallet().await?;
    let auth = authorize(&w, &req.passphrase).await?;
    let names = w.hospital_names().await?;
    let answers = w.revoke_delegation(&auth, &req.id).await?;
    Ok(api::RevokeResult {
        answers: answers
            .iter()
            .map(|a| conv::peer_answer(a, &names))
            .collect(),
    })
}

/// [`api::cmd::ADD_DELEGATION`]
#[tauri::command]
async fn add_delegation(
    state: State<'_, AppState>,
    req: api::AddDelegationRequest,
) -> Res<api::DelegatedPatientInfo> {
    let bytes = text_or_image(&req.input)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ApiError::new(codes::INVALID, "the delegation is not text"))?;
    let w = state.session.wallet().await?;
    let p = w.add_delegation_from_text(&text, &req.label).await?;
    Ok(w.app_delegated_patient(&p).await?)
}

/// [`api::cmd::LIST_DELEGATED_PATIENTS`]
#[tauri::command]
async fn list_delegated_patients(
    state: State<'_, AppState>,
) -> Res<Vec<api::DelegatedPatientInfo>> {
    let w = state.session.wallet().await?;
    let mut out = Vec::new();
    for p in w.delegated_patients().await? {
        out.push(w.app_delegated_patient(&p).await?);
    }
    Ok(out)
}

/// [`api::cmd::SYNC_DELEGATED`]
#[tauri::command]
async fn sync_delegated(
    state: State<'_, AppState>,
    req: api::DelegatedRequest,
) -> Res<api::DelegateSyncResult> {
    Ok(state
        .session
        .wallet()
        .await?
        .app_delegate_sync(&req.id)
        .await?)
}

/// [`api::cmd::SHARE_AS_DELEGATE`]
#[tauri::command]
async fn share_as_delegate(
    state: State<'_, AppState>,
    req: api::ShareAsDelegateRequest,
) -> Res<api::GrantCreated> {
    let w = state.session.wallet().await?;
    let doctor = w.doctor(&req.doctor_kid).await?;
    if req.categories.is_empty() {
        return Err(ApiError::new(
            codes::INVALID,
            "choose record kinds to share",
        ));
    }
    let secs = i64::try_from(req.duration_secs)
        .ok()
        .filter(|s| (60..=spondon_core::token::MAX_GRANT_LIFETIME).contains(s))
        .ok_or_else(|| ApiError::new(codes::INVALID, "a grant lasts from a minute to 400 days"))?;
    let auth = authorize(&w, &req.passphrase).await?;
    let g = w
        .grant_as_delegate(
            &auth,
            &req.id,
            &GrantRequest {
                audience: GrantAudience::Doctor(doctor.clone()),
                scope: Scope {
                    categories: req.categories.into_iter().map(conv::category).collect(),
                    record_ids: vec![],
                },
                purpose: spondon_core::token::Purpose::Treatment,
                duration: Duration::Seconds(secs),
                peers: vec![],
                use_limit: None,
                write: false,
            },
        )
        .await?;
    let qr_svg = svg(&g.text)?;
    let now = spondon_core::NumericDate::now().seconds();
    Ok(api::GrantCreated {
        grant: conv::grant_info(&g, now, Some(&doctor.name)),
        qr_svg,
        text: g.text,
    })
}

/// [`api::cmd::EXPORT`]
#[tauri::command]
async fn export<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    req: api::ExportRequest,
) -> Res<api::ExportResult> {
    use api::ExportFormat as F;
    if req.formats.is_empty() {
        return Err(ApiError::new(codes::INVALID, "choose at least one format"));
    }
    let link_url = if req.formats.contains(&F::Shl) {
        Some(req.link_url.clone().ok_or_else(|| {
            ApiError::new(
                codes::INVALID,
                "a SMART Health Link needs the https address where it will be hosted",
            )
        })?)
    } else {
        None
    };
    let invalid = |e: spondon_wallet::WalletError| ApiError::new(codes::INVALID, e.to_string());
    let categories = req
        .categories
        .iter()
        .map(|c| spondon_wallet::grants::parse_category(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let day = |d: &Option<String>| {
        d.as_deref()
            .map(spondon_wallet::export::parse_day)
            .transpose()
            .map_err(invalid)
    };
    let (since, until) = (day(&req.since)?, day(&req.until)?);
    let w = state.session.wallet().await?;
    let auth = authorize(&w, &req.passphrase).await?;
    let on = |p: spondon_wallet::Progress| emit(&app, event::EXPORT, event::TaskProgress::from(p));
    let out = w
        .export_with_progress(
            &auth,
            &ExportRequest {
                record_ids: req.record_ids,
                categories,
                since,
                until,
                include_payments: req.include_payments,
                passport: req.passport,
                national_id: req.national_id,
                verify_url: req.verify_url,
                receipts: req.include_receipts,
                link_url,
                link_label: Some("Health records from my Spondon wallet".into()),
            },
            &on,
        )
        .await?;
    let verdict = conv::export_verdict(&out.report);
    let mut files = Vec::new();
    let mut link = None;
    let mut link_qr_svg = None;
    if verdict.valid {
        let dir = &state.export_dir;
        let count = out.parts.len();
        for (k, part) in out.parts.iter().enumerate() {
            let stem = spondon_wallet::export::part_stem("spondon-export", k + 1, count);
            for f in &req.formats {
                let (ext, bytes): (&str, &[u8]) = match f {
                    F::Pdf => ("pdf", &part.pdf),
                    F::Shc => ("smart-health-card", &part.file),
                    F::Shl => match &out.link {
                        Some((_, jwe)) if k == 0 => ("jwe", jwe.as_bytes()),
                        _ => continue,
                    },
                };
                let mut path = fresh_path(dir, &stem, ext).await?;
                if *f == F::Shc && !part.documents.is_empty() {
                    // With documents, a folder: the card file and the files (§18.4).
                    let folder = path.with_extension("");
                    let name = folder
                        .file_name()
                        .map_or_else(|| stem.clone(), |n| n.to_string_lossy().into_owned());
                    save(&folder.join(format!("{name}.{ext}")), bytes).await?;
                    for (rel, doc) in &part.documents {
                        save(&folder.join(rel), doc).await?;
                    }
                    path = folder;
                } else {
                    save(&path, bytes).await?;
                }
                files.push(api::SavedFile {
                    format: *f,
                    path: path.display().to_string(),
                });
            }
        }
        if let Some((shlink, _)) = &out.link {
            link_qr_svg = Some(
                String::from_utf8(render_qr(shlink, QrFormat::Svg)?)
                    .map_err(|_| ApiError::new(codes::INTERNAL, "the QR code is not text"))?,
            );
            link = Some(shlink.to_string());
        }
    }
    Ok(api::ExportResult {
        files,
        verdict,
        records: out.records as u64,
        receipts: out.receipts as u64,
        link,
        link_qr_svg,
    })
}

/// [`api::cmd::IMPORT_CARD`]
#[tauri::command]
async fn import_card<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    req: api::ImportRequest,
) -> Res<api::ImportResult> {
    let bytes = match &req.input {
        api::ImportInput::File { file_base64 } => decode_b64(file_base64, "file")?,
        api::ImportInput::Image { image_base64 } => decode_b64(image_base64, "image")?,
        api::ImportInput::Text { text } => text.trim().as_bytes().to_vec(),
    };
    let w = state.session.wallet().await?;
    let on = |p: spondon_wallet::Progress| emit(&app, event::IMPORT, event::TaskProgress::from(p));
    let out = w.import_with_progress(&bytes, req.fetch_keys, &on).await?;
    Ok(api::ImportResult {
        cards: out.iter().map(Into::into).collect(),
    })
}

async fn settings(state: &AppState) -> Res<api::Settings> {
    let prefs = state.session.preferences().await?;
    Ok(api::Settings {
        language: crate::state::language(&prefs.language),
        lock_after_secs: prefs.lock_after_secs,
        trust_list: state.trust_list().await,
        export_dir: state.export_dir.display().to_string(),
        wallet_dir: state.session.dir().display().to_string(),
        keys: state.key_protection(),
    })
}

/// [`api::cmd::GET_SETTINGS`]
#[tauri::command]
async fn get_settings(state: State<'_, AppState>) -> Res<api::Settings> {
    settings(&state).await
}

/// [`api::cmd::UPDATE_SETTINGS`]
#[tauri::command]
async fn update_settings(
    state: State<'_, AppState>,
    req: api::UpdateSettingsRequest,
) -> Res<api::Settings> {
    let mut prefs = state.session.preferences().await?;
    if let Some(l) = req.language {
        prefs.language = match l {
            api::Language::En => "en",
            api::Language::Bn => "bn",
        }
        .into();
    }
    if let Some(s) = req.lock_after_secs {
        prefs.lock_after_secs = s;
    }
    state.session.set_preferences(&prefs).await?;
    state.session.touch();
    settings(&state).await
}

/// [`api::cmd::UPDATE_TRUST_LIST`]
#[tauri::command]
async fn update_trust_list(
    state: State<'_, AppState>,
    req: api::UpdateTrustListRequest,
) -> Res<api::TrustListSummary> {
    let w = state.session.wallet().await?;
    w.update_trust_list(&req.trust_list).await?;
    w.app_trust_list()
        .await?
        .ok_or_else(|| ApiError::new(codes::NO_TRUST_LIST, "no trust list is installed"))
}

/// [`api::cmd::BACKUP_NOW`]
#[tauri::command]
async fn backup_now(state: State<'_, AppState>, req: api::BackupRequest) -> Res<api::BackupResult> {
    let w = state.session.wallet().await?;
    let auth = authorize(&w, &req.passphrase).await?;
    let path = fresh_path(&state.export_dir, "spondon-backup", "spondon-backup").await?;
    tokio::fs::create_dir_all(&state.export_dir)
        .await
        .map_err(|e| ApiError::new(codes::IO, format!("cannot create the export folder: {e}")))?;
    w.backup(&auth, &path, req.passphrase.0.as_bytes()).await?;
    Ok(api::BackupResult {
        path: path.display().to_string(),
    })
}

/// [`api::cmd::CHANGE_PASSPHRASE`]
#[tauri::command]
async fn change_passphrase(
    state: State<'_, AppState>,
    req: api::ChangePassphraseRequest,
) -> Res<()> {
    let w = state.session.wallet().await?;
    Ok(
        w.change_passphrase(req.old.0.as_bytes(), req.new.0.as_bytes())
            .await?,
    )
}

/// [`api::cmd::ABOUT`]
#[tauri::command]
fn about(state: State<'_, AppState>) -> api::About {
    api::About {
        version: env!("CARGO_PKG_VERSION").into(),
        api_version: api::API_VERSION.into(),
        wallet_dir: state.session.dir().display().to_string(),
    }
}
