//! Tauri command names. Each takes at most one argument named `req` (the type named beside it)
//! and answers `Result<T, ApiError>`. "Unlocked" commands answer `locked` when the wallet is
//! locked and `no_wallet` when there is none.
//!
//! Any command the UI sends counts as activity for the inactivity lock; [`TOUCH`] reports
//! activity without doing anything else (call it, throttled, on user input).

/// `()` → [`crate::AppStatus`]. Never fails for a locked wallet.
pub const APP_STATUS: &str = "app_status";
/// `req: PassphraseStrengthRequest` → [`crate::PassphraseStrength`].
pub const PASSPHRASE_STRENGTH: &str = "passphrase_strength";
/// `req: CreateWalletRequest` → [`crate::AppStatus`] (unlocked).
pub const CREATE_WALLET: &str = "create_wallet";
/// `req: RestoreRequest` → [`crate::RestoreResult`] (unlocked). Emits [`crate::event::RESTORE`].
pub const RESTORE_WALLET: &str = "restore_wallet";
/// `req: UnlockRequest` → [`crate::AppStatus`].
pub const UNLOCK: &str = "unlock";
/// `()` → [`crate::AppStatus`] (locked). Emits [`crate::event::LOCKED`].
pub const LOCK: &str = "lock";
/// `()` → `()`: the user is active (resets the inactivity timer). Never fails.
pub const TOUCH: &str = "touch";

/// `req: EnrollRequest` → [`crate::Hospital`].
pub const ENROLL: &str = "enroll";
/// `()` → `Vec<`[`crate::Hospital`]`>`.
pub const LIST_HOSPITALS: &str = "list_hospitals";
/// `()` → [`crate::SyncSummary`]. Emits [`crate::event::SYNC`] while it runs.
pub const SYNC: &str = "sync";

/// `req: RecordFilter` → `Vec<`[`crate::RecordSummary`]`>` (newest first).
pub const LIST_RECORDS: &str = "list_records";
/// `req: RecordRequest` → [`crate::RecordDetail`].
pub const GET_RECORD: &str = "get_record";

/// `req: RecordRequest` → [`crate::DocumentPreview`]: a document's file checked against its card
/// (`not_found` when it has not been fetched yet).
pub const DOCUMENT_PREVIEW: &str = "document_preview";
/// `req: RecordRequest` → [`crate::SavedDocument`]: saves a document's file, checked against its
/// card, in the export folder.
pub const SAVE_DOCUMENT: &str = "save_document";

/// `req: AddDoctorRequest` → [`crate::DoctorInfo`].
pub const ADD_DOCTOR: &str = "add_doctor";
/// `()` → `Vec<`[`crate::DoctorInfo`]`>` (by name).
pub const LIST_DOCTORS: &str = "list_doctors";

/// `req: CreateGrantRequest` → [`crate::GrantCreated`].
pub const CREATE_GRANT: &str = "create_grant";
/// `req: ListGrantsRequest` → `Vec<`[`crate::GrantInfo`]`>` (newest first).
pub const LIST_GRANTS: &str = "list_grants";
/// `req: RevokeRequest` → [`crate::RevokeResult`].
pub const REVOKE_GRANT: &str = "revoke_grant";
/// `req: RevokeAllRequest` → [`crate::RevokeResult`]. Emits [`crate::event::REVOKE_ALL`].
pub const REVOKE_ALL: &str = "revoke_all";

/// `()` → `Vec<`[`crate::Receipt`]`>` (newest first).
pub const LIST_RECEIPTS: &str = "list_receipts";

/// `()` → [`crate::EmergencyPolicyInfo`].
pub const GET_EMERGENCY_POLICY: &str = "get_emergency_policy";
/// `req: SetEmergencyPolicyRequest` → [`crate::SetEmergencyPolicyResult`].
pub const SET_EMERGENCY_POLICY: &str = "set_emergency_policy";
/// `req: DisputeEmergencyRequest` → [`crate::DisputeEmergencyResult`].
pub const DISPUTE_EMERGENCY: &str = "dispute_emergency";

/// `req: LostPhoneRequest` → [`crate::LostPhoneResult`]. Emits [`crate::event::LOST_PHONE`].
pub const LOST_PHONE: &str = "lost_phone";
/// `()` → `Option<`[`crate::KeyRotationInfo`]`>`.
pub const KEY_ROTATION_STATUS: &str = "key_rotation_status";
/// `req: RebindRequest` → [`crate::Hospital`].
pub const REBIND: &str = "rebind";

/// `()` → [`crate::DelegateKey`].
pub const DELEGATE_KEY: &str = "delegate_key";
/// `req: CreateDelegationRequest` → [`crate::DelegationInfo`].
pub const CREATE_DELEGATION: &str = "create_delegation";
/// `()` → `Vec<`[`crate::DelegationInfo`]`>` (newest first).
pub const LIST_DELEGATIONS: &str = "list_delegations";
/// `req: RevokeDelegationRequest` → [`crate::RevokeResult`].
pub const REVOKE_DELEGATION: &str = "revoke_delegation";
/// `req: AddDelegationRequest` → [`crate::DelegatedPatientInfo`].
pub const ADD_DELEGATION: &str = "add_delegation";
/// `()` → `Vec<`[`crate::DelegatedPatientInfo`]`>`.
pub const LIST_DELEGATED_PATIENTS: &str = "list_delegated_patients";
/// `req: DelegatedRequest` → [`crate::DelegateSyncResult`].
pub const SYNC_DELEGATED: &str = "sync_delegated";
/// `req: ShareAsDelegateRequest` → [`crate::GrantCreated`].
pub const SHARE_AS_DELEGATE: &str = "share_as_delegate";

/// `req: ExportRequest` → [`crate::ExportResult`]. Emits [`crate::event::EXPORT`].
pub const EXPORT: &str = "export";
/// `req: ImportRequest` → [`crate::ImportResult`]. Emits [`crate::event::IMPORT`].
pub const IMPORT_CARD: &str = "import_card";

/// `()` → [`crate::Settings`] (works while locked: the trust list is then the configured one).
pub const GET_SETTINGS: &str = "get_settings";
/// `req: UpdateSettingsRequest` → [`crate::Settings`] (works while locked).
pub const UPDATE_SETTINGS: &str = "update_settings";
/// `req: UpdateTrustListRequest` → [`crate::TrustListSummary`].
pub const UPDATE_TRUST_LIST: &str = "update_trust_list";
/// `req: BackupRequest` → [`crate::BackupResult`].
pub const BACKUP_NOW: &str = "backup_now";
/// `req: ChangePassphraseRequest` → `()`.
pub const CHANGE_PASSPHRASE: &str = "change_passphrase";
/// `()` → [`crate::About`]. Never fails.
pub const ABOUT: &str = "about";

/// Every command name, for the shell's registration test and the capability file.
pub const ALL: &[&str] = &[
    APP_STATUS,
    PASSPHRASE_STRENGTH,
    CREATE_WALLET,
    RESTORE_WALLET,
    UNLOCK,
    LOCK,
    TOUCH,
    ENROLL,
    LIST_HOSPITALS,
    SYNC,
    LIST_RECORDS,
    GET_RECORD,
    ADD_DOCTOR,
    LIST_DOCTORS,
    CREATE_GRANT,
    LIST_GRANTS,
    REVOKE_GRANT,
    REVOKE_ALL,
    LIST_RECEIPTS,
    DOCUMENT_PREVIEW,
    SAVE_DOCUMENT,
    GET_EMERGENCY_POLICY,
    SET_EMERGENCY_POLICY,
    DISPUTE_EMERGENCY,
    LOST_PHONE,
    KEY_ROTATION_STATUS,
    REBIND,
    DELEGATE_KEY,
    CREATE_DELEGATION,
    LIST_DELEGATIONS,
    REVOKE_DELEGATION,
    ADD_DELEGATION,
    LIST_DELEGATED_PATIENTS,
    SYNC_DELEGATED,
    SHARE_AS_DELEGATE,
    EXPORT,
    IMPORT_CARD,
    GET_SETTINGS,
    UPDATE_SETTINGS,
    UPDATE_TRUST_LIST,
    BACKUP_NOW,
    CHANGE_PASSPHRASE,
    ABOUT,
];
