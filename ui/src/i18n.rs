//! Every string of the UI in English and Bangla. The `strings!` table makes a key without both
//! languages a compile error; the tests check that none is empty and that the Bangla is Bangla.

use leptos::prelude::*;
use spondon_app_api::{ApiError, codes};

/// The UI language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Bangla.
    Bn,
}

impl Lang {
    /// The BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Bn => "bn",
        }
    }

    /// From a tag ("bn", "bn-BD", "en-US" …); English unless Bangla.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.to_ascii_lowercase().starts_with("bn") {
            Lang::Bn
        } else {
            Lang::En
        }
    }
}

macro_rules! strings {
    ($($key:ident => $en:expr, $bn:expr;)*) => {
        /// A UI string.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum K { $($key),* }

        impl K {
            /// Every key, for the completeness tests.
            pub const ALL: &'static [K] = &[$(K::$key),*];

            /// The text in a language.
            pub fn text(self, lang: Lang) -> &'static str {
                match lang {
                    Lang::En => match self { $(K::$key => $en),* },
                    Lang::Bn => match self { $(K::$key => $bn),* },
                }
            }
        }
    };
}

strings! {
    AppName => "Spondon", "স্পন্দন";
    Tagline => "Your health records, in your hands", "আপনার স্বাস্থ্য রেকর্ড, আপনার হাতে";
    SkipToContent => "Skip to content", "মূল অংশে যান";
    Language => "Language", "ভাষা";
    LangSwitchTo => "বাংলা", "English";
    LangSwitchLabel => "Switch the language to Bangla", "ভাষা ইংরেজিতে বদলান";
    MainNav => "Main", "প্রধান মেনু";
    Loading => "Loading…", "লোড হচ্ছে…";
    Working => "Working…", "কাজ চলছে…";
    Cancel => "Cancel", "বাতিল";
    Close => "Close", "বন্ধ করুন";
    Back => "Back", "ফিরে যান";
    Continue => "Continue", "এগিয়ে যান";
    Save => "Save", "সংরক্ষণ করুন";
    Done => "Done", "সম্পন্ন";
    Retry => "Try again", "আবার চেষ্টা করুন";
    Or => "or", "অথবা";
    Yes => "Yes", "হ্যাঁ";
    No => "No", "না";
    None => "None", "কিছু নেই";
    Unknown => "Unknown", "অজানা";
    Error => "Something went wrong", "একটি সমস্যা হয়েছে";
    NotInApp => "This page works inside the Spondon app. Open the app to use your wallet.", "এই পাতাটি স্পন্দন অ্যাপের ভেতরে কাজ করে। ওয়ালেট ব্যবহার করতে অ্যাপটি খুলুন।";

    // Navigation
    NavRecords => "Records", "রেকর্ড";
    NavHospitals => "Hospitals", "হাসপাতাল";
    NavShare => "Share", "শেয়ার";
    NavGrants => "Active shares", "চালু শেয়ার";
    NavAccess => "Access log", "কে দেখেছে";
    NavExport => "Export", "রপ্তানি";
    NavImport => "Import a card", "কার্ড আমদানি";
    NavSettings => "Settings", "সেটিংস";
    NavMore => "More", "আরও";
    Lock => "Lock", "লক করুন";
    LockNow => "Lock the wallet now", "এখনই ওয়ালেট লক করুন";

    // Files
    ChooseFile => "Choose a file", "ফাইল বেছে নিন";
    DropHere => "Drop a file here, or choose one", "ফাইলটি এখানে টেনে আনুন, অথবা বেছে নিন";
    FileChosen => "Selected: {0}", "বেছে নেওয়া হয়েছে: {0}";
    FileTooBig => "This file is too large (more than 20 MB).", "ফাইলটি অনেক বড় (২০ MB-এর বেশি)।";
    FileReadFailed => "The file could not be read.", "ফাইলটি পড়া যায়নি।";

    // First run
    WelcomeTitle => "Welcome to Spondon", "স্পন্দনে স্বাগতম";
    WelcomeBody => "Spondon keeps your medical records from every hospital in one place, encrypted on this device. You decide which doctor sees what, and for how long.", "স্পন্দন সব হাসপাতালের আপনার চিকিৎসা রেকর্ড এক জায়গায়, এই ডিভাইসে এনক্রিপ্ট করে রাখে। কোন ডাক্তার কী দেখবেন এবং কতক্ষণ, তা আপনিই ঠিক করেন।";
    CreateWallet => "Create a new wallet", "নতুন ওয়ালেট তৈরি করুন";
    RestoreWallet => "Restore from a backup", "ব্যাকআপ থেকে ফিরিয়ে আনুন";
    Passphrase => "Passphrase", "পাসফ্রেজ";
    PassphraseRepeat => "Type the passphrase again", "পাসফ্রেজটি আবার লিখুন";
    PassphraseHelp => "Use four or more unrelated words, or at least 12 characters. Nobody, not even Spondon, can recover it for you.", "চার বা তার বেশি সম্পর্কহীন শব্দ, অথবা অন্তত ১২টি অক্ষর ব্যবহার করুন। কেউ, এমনকি স্পন্দনও, এটি আপনার জন্য উদ্ধার করতে পারবে না।";
    PassphraseMismatch => "The two passphrases are not the same.", "দুটি পাসফ্রেজ এক নয়।";
    ShowPassphrase => "Show passphrase", "পাসফ্রেজ দেখান";
    Strength => "Strength", "শক্তি";
    Strength0 => "Very weak", "খুব দুর্বল";
    Strength1 => "Weak", "দুর্বল";
    Strength2 => "Fair", "মোটামুটি";
    Strength3 => "Strong", "শক্তিশালী";
    Strength4 => "Very strong", "খুব শক্তিশালী";
    HintTooShort => "Too short: use at least {0} characters.", "খুব ছোট: অন্তত {0}টি অক্ষর ব্যবহার করুন।";
    HintCommon => "This is a well-known passphrase that is easy to guess.", "এটি একটি পরিচিত পাসফ্রেজ, সহজেই অনুমান করা যায়।";
    HintRepetitive => "Avoid repeated characters and simple sequences like 1234.", "একই অক্ষর বারবার বা ১২৩৪-এর মতো সহজ ক্রম এড়িয়ে চলুন।";
    HintAddWords => "Add another word or two.", "আরও একটি-দুটি শব্দ যোগ করুন।";
    HintAddVariety => "Add words, or mix in digits, capitals or symbols.", "শব্দ যোগ করুন, অথবা সংখ্যা, বড় হাতের অক্ষর বা চিহ্ন মেশান।";
    HintGood => "Good passphrase.", "ভালো পাসফ্রেজ।";
    HintStrong => "Strong passphrase.", "শক্তিশালী পাসফ্রেজ।";
    KeychainTitle => "Where your key is kept", "আপনার চাবি কোথায় থাকে";
    KeychainYes => "This device has a secure keychain. Spondon keeps your wallet's key there, so you can also unlock with it; your passphrase still protects backups and restores.", "এই ডিভাইসে একটি সুরক্ষিত কিচেইন আছে। স্পন্দন আপনার ওয়ালেটের চাবি সেখানে রাখে, তাই এটি দিয়েও খোলা যায়; ব্যাকআপ ও পুনরুদ্ধার তবুও আপনার পাসফ্রেজ দিয়ে সুরক্ষিত থাকে।";
    KeychainNo => "This device has no secure keychain that Spondon can use. Your wallet will be protected by your passphrase only: you will type it every time you open the wallet.", "এই ডিভাইসে স্পন্দনের ব্যবহারযোগ্য কোনো সুরক্ষিত কিচেইন নেই। আপনার ওয়ালেট শুধু পাসফ্রেজ দিয়ে সুরক্ষিত থাকবে: প্রতিবার ওয়ালেট খোলার সময় এটি লিখতে হবে।";
    UseKeychain => "Keep the key in this device's keychain", "চাবিটি এই ডিভাইসের কিচেইনে রাখুন";
    TrustListFile => "Consortium trust list (the file your hospital or the health authority gave you)", "কনসোর্টিয়াম ট্রাস্ট লিস্ট (আপনার হাসপাতাল বা স্বাস্থ্য কর্তৃপক্ষের দেওয়া ফাইল)";
    ConsortiumNeeded => "This app is not yet set up for a group of hospitals. Add the trust list and the health authority's root key that came with it.", "এই অ্যাপটি এখনো কোনো হাসপাতাল-গোষ্ঠীর জন্য প্রস্তুত করা হয়নি। ট্রাস্ট লিস্ট এবং তার সাথে পাওয়া স্বাস্থ্য কর্তৃপক্ষের রুট কী যোগ করুন।";
    RootKeyFile => "Health authority's root key (a .json file that comes with the trust list)", "স্বাস্থ্য কর্তৃপক্ষের রুট কী (ট্রাস্ট লিস্টের সাথে পাওয়া একটি .json ফাইল)";
    BackupReminderTitle => "Make a backup", "একটি ব্যাকআপ রাখুন";
    BackupReminder => "If this device is lost, a backup file and your passphrase are the only way to get your records back. Make a backup now and keep it somewhere safe, away from this device.", "এই ডিভাইস হারালে, একটি ব্যাকআপ ফাইল ও আপনার পাসফ্রেজই রেকর্ড ফিরে পাওয়ার একমাত্র উপায়। এখনই একটি ব্যাকআপ নিন এবং এই ডিভাইস থেকে দূরে নিরাপদ কোথাও রাখুন।";
    BackupLater => "Later", "পরে";
    WalletCreated => "Your wallet is ready.", "আপনার ওয়ালেট তৈরি হয়েছে।";
    RestoreTitle => "Restore your wallet", "আপনার ওয়ালেট ফিরিয়ে আনুন";
    RestoreHelp => "Choose the backup file you saved, and type the passphrase you used when you made it.", "আপনার সংরক্ষিত ব্যাকআপ ফাইলটি বেছে নিন, এবং সেটি তৈরির সময়ের পাসফ্রেজটি লিখুন।";
    BackupFile => "Backup file", "ব্যাকআপ ফাইল";
    Restored => "Restored: {0} records, {1} hospitals.", "ফিরিয়ে আনা হয়েছে: {0}টি রেকর্ড, {1}টি হাসপাতাল।";

    // Unlock
    UnlockTitle => "Unlock your wallet", "আপনার ওয়ালেট খুলুন";
    UnlockHelp => "Type your passphrase to see your records.", "আপনার রেকর্ড দেখতে পাসফ্রেজ লিখুন।";
    Unlock => "Unlock", "খুলুন";
    UnlockKeychain => "Unlock with this device's keychain", "এই ডিভাইসের কিচেইন দিয়ে খুলুন";
    LockedInactivity => "Your wallet was locked because it was not used for a while.", "কিছুক্ষণ ব্যবহার না হওয়ায় আপনার ওয়ালেট লক করা হয়েছে।";
    LockedBackground => "Your wallet locked itself when the app went to the background.", "অ্যাপটি পটভূমিতে যাওয়ায় আপনার ওয়ালেট নিজে থেকে লক হয়েছে।";
    ScanWithCamera => "Scan with the camera", "ক্যামেরা দিয়ে স্ক্যান করুন";
    UnlockBiometric => "Unlock with fingerprint or face", "আঙুলের ছাপ বা মুখ দিয়ে আনলক করুন";
    ConfirmBiometric => "Confirm with fingerprint or face", "আঙুলের ছাপ বা মুখ দিয়ে নিশ্চিত করুন";
    LinkOpened => "Opened from a link: check the text below, then continue.", "একটি লিংক থেকে খোলা হয়েছে: নিচের লেখাটি দেখে নিন, তারপর এগিয়ে যান।";
    LockedRequested => "Your wallet is locked.", "আপনার ওয়ালেট লক করা আছে।";

    // Hospitals
    HospitalsTitle => "Your hospitals", "আপনার হাসপাতালগুলো";
    EnrollTitle => "Add a hospital", "হাসপাতাল যোগ করুন";
    EnrollHelp => "At the hospital's registration desk you get an enrollment code, as text or as a QR code. Paste the text, or open a photo or screenshot of the QR code.", "হাসপাতালের নিবন্ধন ডেস্ক থেকে আপনি একটি নিবন্ধন কোড পাবেন, লেখা হিসেবে অথবা QR কোড হিসেবে। লেখাটি পেস্ট করুন, অথবা QR কোডের ছবি বা স্ক্রিনশট খুলুন।";
    EnrollCode => "Enrollment code", "নিবন্ধন কোড";
    EnrollQr => "QR code image", "QR কোডের ছবি";
    Enroll => "Add hospital", "হাসপাতাল যোগ করুন";
    Enrolled => "{0} was added.", "{0} যোগ করা হয়েছে।";
    NoHospitals => "No hospital yet. Add the first one with the code you got at registration.", "এখনো কোনো হাসপাতাল নেই। নিবন্ধনের সময় পাওয়া কোড দিয়ে প্রথমটি যোগ করুন।";
    LastSync => "Last synced: {0}", "শেষ সিঙ্ক: {0}";
    NeverSynced => "Not synced yet", "এখনো সিঙ্ক হয়নি";
    HealthId => "Health ID", "হেলথ আইডি";
    RecordsCount => "{0} records", "{0}টি রেকর্ড";
    ViolationTitle => "Warning: this hospital's record log was changed", "সতর্কতা: এই হাসপাতালের রেকর্ড লগ বদলানো হয়েছে";
    ViolationBody => "This hospital showed a history of records that contradicts what it showed before. Spondon kept nothing new from it. Your existing records are safe. Tell the hospital and the health authority.", "এই হাসপাতাল আগে যা দেখিয়েছিল তার সাথে মেলে না এমন রেকর্ডের ইতিহাস দেখিয়েছে। স্পন্দন এখান থেকে নতুন কিছু রাখেনি। আপনার আগের রেকর্ড নিরাপদ আছে। হাসপাতাল ও স্বাস্থ্য কর্তৃপক্ষকে জানান।";
    AlertUnreachable => "Could not be reached at the last sync.", "শেষ সিঙ্কের সময় যোগাযোগ করা যায়নি।";

    // Records and sync
    RecordsTitle => "Your records", "আপনার রেকর্ড";
    Sync => "Sync now", "এখন সিঙ্ক করুন";
    Syncing => "Syncing… {0} of {1} hospitals", "সিঙ্ক হচ্ছে… {1}টির মধ্যে {0}টি হাসপাতাল";
    SyncDone => "Sync finished: {0} new records, {1} new access receipts.", "সিঙ্ক শেষ: {0}টি নতুন রেকর্ড, {1}টি নতুন অ্যাক্সেস রসিদ।";
    SyncProgressLabel => "Sync progress", "সিঙ্কের অগ্রগতি";
    PeerWaiting => "Waiting", "অপেক্ষায়";
    PeerRunning => "{0} records so far", "এ পর্যন্ত {0}টি রেকর্ড";
    PeerRunningOf => "{0} of {1} records", "{1}টির মধ্যে {0}টি রেকর্ড";
    PeerDone => "Done · new records: {0}", "সম্পন্ন: {0}টি রেকর্ড";
    PeerFile => "fetching a file: {0} of {1}", "একটি ফাইল আনা হচ্ছে: {1}-এর মধ্যে {0}";
    PeerFiles => "document files: {0}", "নথির ফাইল: {0}টি";
    PeerFailed => "Failed", "ব্যর্থ";
    Search => "Search", "খুঁজুন";
    SearchPlaceholder => "Medicine, test, diagnosis…", "ওষুধ, পরীক্ষা, রোগনির্ণয়…";
    FilterKind => "Kind", "ধরন";
    FilterHospital => "Hospital", "হাসপাতাল";
    FilterFrom => "From", "থেকে";
    FilterTo => "To", "পর্যন্ত";
    AllKinds => "All kinds", "সব ধরন";
    AllHospitals => "All hospitals", "সব হাসপাতাল";
    ClearFilters => "Clear filters", "ফিল্টার মুছুন";
    NoRecords => "No records yet. Add a hospital, then sync to bring your records here.", "এখনো কোনো রেকর্ড নেই। একটি হাসপাতাল যোগ করুন, তারপর সিঙ্ক করে রেকর্ড এখানে আনুন।";
    NoMatch => "No record matches these filters.", "এই ফিল্টারের সাথে কোনো রেকর্ড মেলেনি।";
    Showing => "{0} records", "{0}টি রেকর্ড";
    KindPrescription => "Prescription", "প্রেসক্রিপশন";
    KindLabReport => "Test report", "পরীক্ষার রিপোর্ট";
    KindDiagnosis => "Diagnosis", "রোগনির্ণয়";
    KindImmunization => "Vaccination", "টিকা";
    KindEncounter => "Visit", "ভিজিট";
    KindPayment => "Payment slip", "পেমেন্ট স্লিপ";
    KindNote => "Doctor's note", "ডাক্তারের নোট";
    KindDocument => "Document", "নথি";
    DocFile => "The file", "ফাইল";
    DocName => "Name", "নাম";
    DocKind => "What it is", "কী ধরনের";
    DocFormat => "File type", "ফাইলের ধরন";
    DocFingerprint => "SHA-256 fingerprint", "SHA-256 ফিঙ্গারপ্রিন্ট";
    DocNotKept => "The file is not in your wallet yet: it is fetched at your next sync.", "ফাইলটি এখনও আপনার ওয়ালেটে নেই: পরের সিঙ্কে আনা হবে।";
    DocShow => "Show the image", "ছবিটি দেখুন";
    DocSave => "Save a copy", "একটি কপি সংরক্ষণ করুন";
    DocSaved => "Saved: {0}", "সংরক্ষিত: {0}";
    DocChecked => "This file is the one {0} signed on {1}: its fingerprint matches the signed record.", "এই ফাইলটিই {0} {1} তারিখে স্বাক্ষর করেছে: এর ফিঙ্গারপ্রিন্ট স্বাক্ষরিত রেকর্ডের সাথে মেলে।";
    DocPdfNote => "The app does not open PDF files itself: save a copy and open it with your PDF reader.", "অ্যাপটি নিজে PDF ফাইল খোলে না: একটি কপি সংরক্ষণ করে আপনার PDF রিডারে খুলুন।";
    DocPdf => "PDF", "PDF ফাইল";
    DocJpeg => "JPEG image", "JPEG ছবি";
    DocPng => "PNG image", "PNG ছবি";
    DocPreviewAlt => "The document's image", "নথির ছবি";
    KindOther => "Other record", "অন্যান্য রেকর্ড";
    Imported => "Imported", "আমদানি করা";
    TrustImportedTrusted => "Imported, signature checked", "আমদানি করা, স্বাক্ষর যাচাই করা";
    TrustIssuerNotTrusted => "Imported, issuer not in the trust list", "আমদানি করা, ইস্যুকারী ট্রাস্ট লিস্টে নেই";
    TrustSignatureNotChecked => "Imported, signature not checked", "আমদানি করা, স্বাক্ষর যাচাই হয়নি";
    Corrects => "Corrects an earlier record", "আগের একটি রেকর্ড সংশোধন করে";
    Doctor => "Doctor", "ডাক্তার";
    ViolationBadCheckpoint => "Its log checkpoint was not signed by its own key.", "এর লগ চেকপয়েন্ট তার নিজের কী দিয়ে স্বাক্ষরিত নয়।";
    ViolationRollback => "Its log went back from {0} entries to {1}.", "এর লগ {0}টি এন্ট্রি থেকে পিছিয়ে {1}টিতে গেছে।";
    ViolationTrustListRollback => "The published list of hospitals (#{1}) is older than the one this wallet holds (#{0}); it was refused.", "প্রকাশিত হাসপাতাল তালিকা (#{1}) এই ওয়ালেটের তালিকার (#{0}) চেয়ে পুরোনো; তা গ্রহণ করা হয়নি।";
    ViolationFork => "Its log was rewritten between entries {0} and {1}.", "{0} ও {1} নম্বর এন্ট্রির মধ্যে এর লগ নতুন করে লেখা হয়েছে।";
    ViolationTamperedRecord => "Record entry {0} was altered.", "{0} নম্বর রেকর্ড এন্ট্রি বদলানো হয়েছে।";
    ViolationTamperedReceipt => "Access receipt entry {0} was altered.", "{0} নম্বর অ্যাক্সেস রসিদ এন্ট্রি বদলানো হয়েছে।";
    FoundOn => "Found on {0}", "ধরা পড়েছে {0}";

    // Record detail
    RecordTitle => "Record", "রেকর্ড";
    IssuedBy => "Issued by {0}", "ইস্যু করেছে {0}";
    IssuedOn => "Issued on {0}", "ইস্যুর তারিখ {0}";
    Verified => "Verified", "যাচাই করা";
    NotVerified => "Not verified", "যাচাই হয়নি";
    ShowProof => "Show the proof", "প্রমাণ দেখান";
    HideProof => "Hide the proof", "প্রমাণ লুকান";
    ProofTitle => "Why this record can be trusted", "কেন এই রেকর্ড বিশ্বাসযোগ্য";
    ProofSignature => "Signature", "স্বাক্ষর";
    ProofSignatureOk => "Signed by {0} with key {1}", "{0} কী {1} দিয়ে স্বাক্ষর করেছে";
    ProofLog => "Log entry", "লগ এন্ট্রি";
    ProofLogEntry => "Entry {0} of the hospital's public log", "হাসপাতালের পাবলিক লগের {0} নম্বর এন্ট্রি";
    ProofCheckpoint => "Checkpoint", "চেকপয়েন্ট";
    ProofCheckpointText => "The hospital's signed log state: {0} entries", "হাসপাতালের স্বাক্ষরিত লগের অবস্থা: {0}টি এন্ট্রি";
    ProofWitnesses => "Witnesses", "সাক্ষী";
    ProofWitnessesText => "{0} of {1} witnesses co-signed and were checked", "{1}টির মধ্যে {0}টি সাক্ষী সহ-স্বাক্ষর করেছে এবং তা যাচাই করা হয়েছে";
    Medications => "Medications", "ওষুধ";
    Dose => "Dose", "মাত্রা";
    Schedule => "When to take", "কখন খাবেন";
    ForDays => "for {0}", "{0} ধরে";
    Results => "Results", "ফলাফল";
    Test => "Test", "পরীক্ষা";
    Value => "Value", "মান";
    ReferenceRange => "Normal range", "স্বাভাবিক সীমা";
    Flag => "Flag", "চিহ্ন";
    FlagHigh => "High", "বেশি";
    FlagLow => "Low", "কম";
    FlagAbnormal => "Abnormal", "অস্বাভাবিক";
    FlagNormal => "Normal", "স্বাভাবিক";
    Diagnoses => "Diagnoses", "রোগনির্ণয়";
    Vaccinations => "Vaccinations", "টিকা";
    Notes => "Notes", "নোট";
    Details => "Details", "বিস্তারিত";
    ShareThis => "Share this record", "এই রেকর্ড শেয়ার করুন";

    // Share
    ShareTitle => "Share with a doctor", "ডাক্তারের সাথে শেয়ার করুন";
    ShareHelp => "The doctor sees only what you choose, only for as long as you choose. You can stop it at any time.", "ডাক্তার শুধু আপনার বেছে নেওয়া রেকর্ডই দেখবেন, শুধু আপনার ঠিক করা সময় পর্যন্ত। আপনি যেকোনো সময় তা বন্ধ করতে পারেন।";
    StepDoctor => "1. Which doctor?", "১. কোন ডাক্তার?";
    StepWhat => "2. What can they see?", "২. তিনি কী দেখতে পারবেন?";
    StepHow => "3. Why and for how long?", "৩. কেন এবং কতক্ষণ?";
    StepConfirm => "4. Confirm", "৪. নিশ্চিত করুন";
    RecentDoctors => "Doctors you added", "আপনার যোগ করা ডাক্তার";
    NoDoctors => "No doctor yet. Add one with the credential they show you.", "এখনো কোনো ডাক্তার নেই। ডাক্তার যে ক্রেডেনশিয়াল দেখান তা দিয়ে যোগ করুন।";
    AddDoctor => "Add a doctor", "ডাক্তার যোগ করুন";
    DoctorCredential => "Doctor's credential (pasted text)", "ডাক্তারের ক্রেডেনশিয়াল (পেস্ট করা লেখা)";
    DoctorQr => "Or open a photo of the doctor's QR code", "অথবা ডাক্তারের QR কোডের ছবি খুলুন";
    DoctorAdded => "{0} was added.", "{0} যোগ করা হয়েছে।";
    Registration => "Registration {0}", "নিবন্ধন {0}";
    ByKind => "Kinds of record", "রেকর্ডের ধরন";
    ByRecord => "Single records", "নির্দিষ্ট রেকর্ড";
    PickAtLeastOne => "Choose at least one kind or record.", "অন্তত একটি ধরন বা রেকর্ড বেছে নিন।";
    PickDoctor => "Choose a doctor first.", "আগে একজন ডাক্তার বেছে নিন।";
    Purpose => "Purpose", "উদ্দেশ্য";
    PurposeTreatment => "Treatment", "চিকিৎসা";
    PurposeVisa => "Visa medical", "ভিসা মেডিকেল";
    PurposeEmergency => "Emergency", "জরুরি অবস্থা";
    PurposeReferral => "Referral", "রেফারেল";
    PurposeInsurance => "Insurance", "বীমা";
    Duration => "For how long", "কতক্ষণের জন্য";
    DurationAmount => "Amount", "পরিমাণ";
    DurationUnit => "Unit", "একক";
    Minutes => "Minutes", "মিনিট";
    Hours => "Hours", "ঘণ্টা";
    Days => "Days", "দিন";
    Months => "Months", "মাস";
    DurationInvalid => "Choose between 5 minutes and 12 months.", "৫ মিনিট থেকে ১২ মাসের মধ্যে বেছে নিন।";
    MayWrite => "The doctor may add a prescription or note", "ডাক্তার প্রেসক্রিপশন বা নোট যোগ করতে পারবেন";
    MayWriteHelp => "What they add is signed by them and arrives at your next sync.", "তাঁরা যা যোগ করবেন তা তাঁদের স্বাক্ষরসহ আপনার পরের সিঙ্কে আসবে।";
    ConfirmPassphrase => "Type your passphrase to sign this permission", "এই অনুমতিতে স্বাক্ষর করতে আপনার পাসফ্রেজ লিখুন";
    CreateShare => "Sign and show the QR code", "স্বাক্ষর করে QR কোড দেখান";
    ShowToDoctor => "Show this to {0}", "এটি {0}-কে দেখান";
    ExpiresIn => "Expires in {0}", "মেয়াদ শেষ হবে {0} পরে";
    Expired => "This permission has expired.", "এই অনুমতির মেয়াদ শেষ।";
    ShareScopes => "Can see: {0}", "দেখতে পারবেন: {0}";
    ShareQrLabel => "QR code of the permission for {0}", "{0}-এর জন্য অনুমতির QR কোড";
    ShareAnother => "Share again", "আবার শেয়ার করুন";
    CanWrite => "May add a prescription or note", "প্রেসক্রিপশন বা নোট যোগ করতে পারবেন";
    ReadOnly => "View only", "শুধু দেখতে পারবেন";

    // Grants
    GrantsTitle => "Active shares", "চালু শেয়ার";
    GrantsHelp => "Doctors who can see your records now. Revoking stops them at once.", "যে ডাক্তাররা এখন আপনার রেকর্ড দেখতে পারেন। বাতিল করলে সাথে সাথে বন্ধ হয়।";
    NoGrants => "You are not sharing anything right now.", "আপনি এখন কিছুই শেয়ার করছেন না।";
    Revoke => "Revoke", "বাতিল করুন";
    RevokeOne => "Revoke the share with {0}", "{0}-এর সাথে শেয়ার বাতিল করুন";
    RevokeAll => "Revoke all shares", "সব শেয়ার বাতিল করুন";
    RevokeAllHelp => "Use this if your phone was lost or you are unsure who has access. Every hospital is told at once.", "ফোন হারালে বা কার কাছে অ্যাক্সেস আছে তা নিশ্চিত না হলে এটি ব্যবহার করুন। সব হাসপাতালকে সাথে সাথে জানানো হয়।";
    RevokeConfirm => "Type your passphrase to revoke", "বাতিল করতে আপনার পাসফ্রেজ লিখুন";
    Revoked => "Revoked.", "বাতিল করা হয়েছে।";
    PeerAccepted => "Accepted", "গ্রহণ করেছে";
    PeerRejected => "Did not answer or refused", "উত্তর দেয়নি বা প্রত্যাখ্যান করেছে";
    Until => "Until {0}", "{0} পর্যন্ত";
    GrantedOn => "Shared on {0}", "শেয়ার করা হয়েছে {0}";
    ShowInactive => "Show expired and revoked", "মেয়াদোত্তীর্ণ ও বাতিল দেখান";
    StatusActive => "Active", "চালু";
    StatusExpired => "Expired", "মেয়াদোত্তীর্ণ";
    StatusRevoked => "Revoked", "বাতিল";
    UsedTimes => "Used {0} times", "{0} বার ব্যবহৃত";

    // Access log
    AccessTitle => "Who looked at your records", "কে আপনার রেকর্ড দেখেছেন";
    AccessHelp => "Every time a doctor opens a record you shared, the hospital signs a receipt. They arrive when you sync.", "আপনার শেয়ার করা রেকর্ড কোনো ডাক্তার খুললেই হাসপাতাল একটি রসিদে স্বাক্ষর করে। সিঙ্ক করলে রসিদগুলো আসে।";
    NoReceipts => "Nobody has looked at your records yet.", "এখনো কেউ আপনার রেকর্ড দেখেননি।";
    ReceiptViewed => "{0} viewed your {1}", "{0} আপনার {1} দেখেছেন";
    ReceiptDownloaded => "{0} downloaded the file of your {1}", "{0} আপনার {1}-এর ফাইল ডাউনলোড করেছেন";
    ReceiptAdded => "{0} added to your records: {1}", "{0} আপনার রেকর্ডে যোগ করেছেন: {1}";
    ReceiptRefused => "{0} was refused access to your {1}", "{0}-কে আপনার {1} দেখতে দেওয়া হয়নি";
    ReceiptAt => "at {0} on {1}", "— {1}, {0}-এ";
    RefusedRevoked => "the share had been revoked", "শেয়ারটি বাতিল করা হয়েছিল";
    RefusedExpired => "the share had expired", "শেয়ারের মেয়াদ শেষ হয়ে গিয়েছিল";
    RefusedScope => "the record was not in the share", "রেকর্ডটি শেয়ারের মধ্যে ছিল না";
    RefusedProof => "the requester could not prove who they are", "অনুরোধকারী নিজের পরিচয় প্রমাণ করতে পারেননি";
    UnknownKeyWho => "An unknown key", "একটি অজানা কী";
    PasscodeWho => "Someone with the passcode", "পাসকোডধারী কেউ";
    GrantHolderWho => "Someone holding this share's QR (not proven to be the doctor)", "এই শেয়ারের QR হাতে থাকা কেউ (ডাক্তার বলে প্রমাণিত নন)";
    YourRecords => "records", "রেকর্ড";
    ARecord => "record", "একটি রেকর্ড";
    ReceiptVia => "through {0}", "{0}-এর মাধ্যমে";

    // Family (delegates)
    NavFamily => "Family", "পরিবার";
    FamilyTitle => "Family", "পরিবার";
    FamilyHelp => "Let a family member's wallet help you (a parent for a child, a son or daughter for an elderly parent), or help someone who asked you. Every action they take reaches you as a receipt.", "পরিবারের কোনো সদস্যের ওয়ালেটকে আপনাকে সাহায্য করতে দিন (শিশুর জন্য মা-বাবা, বয়স্ক মা-বাবার জন্য ছেলে বা মেয়ে), অথবা যিনি আপনাকে অনুরোধ করেছেন তাঁকে সাহায্য করুন। তাঁদের প্রতিটি কাজ রসিদ হিসেবে আপনার কাছে আসে।";
    ScopeView => "see your records", "আপনার রেকর্ড দেখা";
    ScopeShare => "share them with a doctor", "ডাক্তারের সাথে শেয়ার করা";
    ScopeManage => "manage your shares", "আপনার শেয়ার পরিচালনা করা";
    AllRecords => "all records", "সব রেকর্ড";
    FamilyMyKey => "Your key for family", "পরিবারের জন্য আপনার কী";
    FamilyMyKeyHelp => "Someone who wants your help scans this or pastes its text into their app. It is a public key: nothing secret.", "যিনি আপনার সাহায্য চান তিনি এটি স্ক্যান করবেন বা এর লেখা তাঁর অ্যাপে পেস্ট করবেন। এটি একটি পাবলিক কী: গোপন কিছু নয়।";
    FamilyNew => "Let someone help you", "কাউকে আপনাকে সাহায্য করতে দিন";
    FamilyNewHelp => "Paste the key their app shows under “Your key for family”.", "তাঁর অ্যাপে “পরিবারের জন্য আপনার কী”-এর নিচে যে কী দেখায় তা পেস্ট করুন।";
    FamilyTheirKey => "Their key", "তাঁর কী";
    FamilyName => "Their name (for your lists and receipts)", "তাঁর নাম (আপনার তালিকা ও রসিদের জন্য)";
    FamilyMay => "They may", "তিনি পারবেন";
    FamilyWhich => "Which records", "কোন রেকর্ড";
    FamilyWhichHelp => "None chosen: all records.", "কিছু বেছে না নিলে: সব রেকর্ড।";
    FamilyDays => "For how many days (1 to 400)", "কত দিনের জন্য (১ থেকে ৪০০)";
    FamilyDaysInvalid => "Give a number of days from 1 to 400.", "১ থেকে ৪০০-এর মধ্যে দিনের সংখ্যা দিন।";
    FamilyMinor => "These are a child's records", "এগুলো একটি শিশুর রেকর্ড";
    FamilyMinorHelp => "The family member is a guardian: they see every receipt too.", "পরিবারের সদস্য একজন অভিভাবক: তিনিও প্রতিটি রসিদ দেখবেন।";
    FamilyCreate => "Sign and send to the hospitals", "স্বাক্ষর করে হাসপাতালে পাঠান";
    FamilyCreated => "Done. Give {0} this code to add in their app.", "সম্পন্ন। {0}-কে তাঁর অ্যাপে যোগ করার জন্য এই কোডটি দিন।";
    FamilyGiven => "People who can help you", "যাঁরা আপনাকে সাহায্য করতে পারেন";
    FamilyGivenEmpty => "Nobody yet.", "এখনো কেউ নেই।";
    FamilyRevoke => "Revoke", "বাতিল করুন";
    FamilyHelped => "People you help", "যাঁদের আপনি সাহায্য করেন";
    FamilyAdd => "Code from the person who asked you to help", "যিনি সাহায্য চেয়েছেন তাঁর দেওয়া কোড";
    FamilyAddButton => "Add", "যোগ করুন";
    FamilyTheirName => "Their name (for your lists)", "তাঁর নাম (আপনার তালিকার জন্য)";
    FamilyHelpedEmpty => "Nobody has asked you to help yet.", "এখনো কেউ আপনার সাহায্য চাননি।";
    FamilyChild => "child", "শিশু";
    FamilySeeRecords => "See their records", "তাঁর রেকর্ড দেখুন";
    FamilyRecordsCount => "{0} records, {1} receipts, checked against the hospitals' logs.", "{0}টি রেকর্ড, {1}টি রসিদ, হাসপাতালের লগের সাথে যাচাই করা।";
    FamilyShare => "Share with a doctor", "ডাক্তারের সাথে শেয়ার করুন";
    FamilyShareHelp => "For one day. The QR carries both your signature and theirs.", "এক দিনের জন্য। QR-এ আপনার ও তাঁর দুজনেরই স্বাক্ষর থাকে।";
    FamilyShareCreate => "Create the QR", "QR তৈরি করুন";
    NotSynced => "{0} could not be read.", "{0} পড়া যায়নি।";

    // Lost phone
    LostTitle => "I lost my phone", "আমার ফোন হারিয়ে গেছে";
    LostHelp => "On a new device, after restoring your backup: revoke every share at every hospital and replace the wallet's key, so the old phone is refused everywhere.", "নতুন ডিভাইসে ব্যাকআপ ফিরিয়ে আনার পর: প্রতিটি হাসপাতালে সব শেয়ার বাতিল করুন এবং ওয়ালেটের কী বদলান, যাতে পুরোনো ফোন সব জায়গায় প্রত্যাখ্যাত হয়।";
    LostOpen => "My phone was lost or stolen", "আমার ফোন হারিয়ে গেছে বা চুরি হয়েছে";
    LostWarning => "Your old phone's copy of your records is encrypted with your passphrase, but every share it made was live until now: anyone holding one of its QR codes, or the phone itself if it was unlocked, could use them. This revokes every share at every hospital and replaces the wallet's key; the old phone's key is refused from then on.", "আপনার পুরোনো ফোনে রাখা রেকর্ডের কপি আপনার পাসফ্রেজ দিয়ে এনক্রিপ্ট করা, কিন্তু এর তৈরি প্রতিটি শেয়ার এখন পর্যন্ত চালু ছিল: এর কোনো QR কোড যার হাতে আছে, অথবা ফোনটি খোলা অবস্থায় থাকলে ফোনটি নিজেই, সেগুলো ব্যবহার করতে পারত। এটি প্রতিটি হাসপাতালে সব শেয়ার বাতিল করে এবং ওয়ালেটের কী বদলে দেয়; এরপর থেকে পুরোনো ফোনের কী প্রত্যাখ্যাত হবে।";
    LostUnderstood => "I understand; my other devices with this wallet stop working too.", "আমি বুঝেছি; এই ওয়ালেটসহ আমার অন্য ডিভাইসগুলোও কাজ করা বন্ধ করবে।";
    LostRun => "Revoke everything and replace my key", "সব বাতিল করুন এবং আমার কী বদলান";
    LostProgress => "{0} of {1} hospitals done", "{1}টি হাসপাতালের মধ্যে {0}টি সম্পন্ন";
    LostComplete => "Done at every hospital: every share and every family delegation the old key made is revoked, and the old key is refused everywhere.", "সব হাসপাতালে সম্পন্ন: পুরোনো কী দিয়ে করা প্রতিটি শেয়ার ও পরিবারের প্রতিটি দায়িত্ব বাতিল, এবং পুরোনো কী সব জায়গায় প্রত্যাখ্যাত।";
    LostIncomplete => "Not finished: some hospitals could not do it. Run it again; hospitals already done are skipped.", "শেষ হয়নি: কিছু হাসপাতালে করা যায়নি। আবার চালান; যেগুলো সম্পন্ন হয়েছে সেগুলো বাদ যাবে।";
    LostRotated => "shares revoked, new key in force", "শেয়ার বাতিল, নতুন কী কার্যকর";
    LostAlreadyDone => "already done", "আগেই সম্পন্ন";
    LostIdentityCheck => "the old key was already replaced there: ask its registration desk for a new code after an identity check", "সেখানে পুরোনো কী আগেই বদলানো হয়েছে: পরিচয় যাচাইয়ের পর এর নিবন্ধন ডেস্ক থেকে নতুন কোড নিন";
    LostFailed => "not done: run it again", "সম্পন্ন হয়নি: আবার চালান";
    LostCompletedOn => "Your key was replaced on {0}.", "{0}-এ আপনার কী বদলানো হয়েছে।";
    LostPendingAt => "Key change not finished at: {0}", "কী বদল এখনো শেষ হয়নি: {0}";
    RebindTitle => "A new code from the registration desk", "নিবন্ধন ডেস্ক থেকে নতুন কোড";
    RebindHelp => "Where the old key cannot be used (it is gone, or someone else replaced it), the hospital checks your identity again and gives you a new code.", "যেখানে পুরোনো কী ব্যবহার করা যায় না (হারিয়ে গেছে, বা অন্য কেউ বদলে দিয়েছে), হাসপাতাল আবার আপনার পরিচয় যাচাই করে একটি নতুন কোড দেয়।";
    RebindCode => "The new enrollment code", "নতুন নিবন্ধন কোড";
    RebindButton => "Bind my new key", "আমার নতুন কী যুক্ত করুন";
    RebindDone => "Your new key is in force at {0}.", "{0}-এ আপনার নতুন কী কার্যকর।";

    // Emergency (break-glass) access
    EmergencyTitle => "Emergency access", "জরুরি অ্যাক্সেস";
    EmergencyHelp => "When you cannot show a QR code (unconscious, say), a registered doctor at a member hospital can open your emergency summary (allergies, medicines, health problems, blood group) after a second staff member confirms. Every such access is logged and shown to you in the access log.", "আপনি QR কোড দেখাতে না পারলে (যেমন অজ্ঞান অবস্থায়), সদস্য হাসপাতালের একজন নিবন্ধিত ডাক্তার আরেকজন কর্মীর নিশ্চিতকরণের পর আপনার জরুরি সারসংক্ষেপ (অ্যালার্জি, ওষুধ, স্বাস্থ্য সমস্যা, রক্তের গ্রুপ) দেখতে পারেন। প্রতিটি এমন অ্যাক্সেস লগে থাকে এবং অ্যাক্সেস তালিকায় আপনাকে দেখানো হয়।";
    EmergencyWho => "Who may open your emergency summary without your QR code", "আপনার QR কোড ছাড়া কে আপনার জরুরি সারসংক্ষেপ খুলতে পারবেন";
    EmergencyAllow => "Any member hospital where I am registered", "আমি নিবন্ধিত এমন যেকোনো সদস্য হাসপাতাল";
    EmergencyAllowHelp => "Recommended: a doctor there can help you in an emergency.", "প্রস্তাবিত: জরুরি অবস্থায় সেখানকার ডাক্তার আপনাকে সাহায্য করতে পারবেন।";
    EmergencyOptOut => "No hospital", "কোনো হাসপাতাল নয়";
    EmergencyOptOutHelp => "Nobody can open your records without your QR code, even in an emergency.", "জরুরি অবস্থাতেও আপনার QR কোড ছাড়া কেউ আপনার রেকর্ড খুলতে পারবে না।";
    EmergencyOnly => "Only the hospitals I choose", "শুধু আমার বেছে নেওয়া হাসপাতাল";
    EmergencyOnlyHelp => "Doctors at other hospitals are refused.", "অন্য হাসপাতালের ডাক্তারদের অনুমতি দেওয়া হবে না।";
    EmergencyPickHospitals => "Hospitals allowed", "অনুমোদিত হাসপাতাল";
    EmergencyPickOne => "Choose at least one hospital.", "অন্তত একটি হাসপাতাল বেছে নিন।";
    EmergencyNoHospitals => "Register at a hospital first.", "আগে কোনো হাসপাতালে নিবন্ধন করুন।";
    EmergencySave => "Save the emergency setting", "জরুরি সেটিং সংরক্ষণ করুন";
    EmergencyCurrent => "Now: {0}", "এখন: {0}";
    EmergencyNeverSet => "Not set yet: every member hospital where you are registered allows it (the default).", "এখনো নির্ধারণ করা হয়নি: আপনি নিবন্ধিত এমন সব সদস্য হাসপাতালে অনুমোদিত (ডিফল্ট)।";
    EmergencyPending => "Not yet confirmed by {0}: it is sent again at every sync.", "{0} এখনো নিশ্চিত করেনি: প্রতিটি সিঙ্কে আবার পাঠানো হয়।";
    EmergencyInForce => "In force at {0}", "{0}-এ কার্যকর";
    EmergencyNotReached => "{0} could not be reached: it is sent again at the next sync.", "{0}-এ পৌঁছানো যায়নি: পরের সিঙ্কে আবার পাঠানো হবে।";
    EmergencyReceipts => "Opened without your QR code", "আপনার QR কোড ছাড়া খোলা হয়েছে";
    EmergencyBy => "{0} ({1}, BMDC {2}) opened your emergency summary at {3}", "{0} ({1}, BMDC {2}) {3}-এ আপনার জরুরি সারসংক্ষেপ খুলেছেন";
    EmergencyReasonLabel => "Reason given: {0}", "দেওয়া কারণ: {0}";
    EmergencyDetails => "In the doctor's words: “{0}”", "ডাক্তারের ভাষায়: “{0}”";
    EmergencyUntil => "The access lasted until {0}", "অ্যাক্সেসের মেয়াদ ছিল {0} পর্যন্ত";
    ReasonUnconscious => "the patient was unconscious", "রোগী অজ্ঞান ছিলেন";
    ReasonCannotCommunicate => "the patient could not communicate", "রোগী কথা বলে বোঝাতে পারছিলেন না";
    ReasonLifeThreatening => "a life-threatening condition", "জীবন-সংকটাপন্ন অবস্থা";
    ReasonNoWallet => "the patient's wallet was not available", "রোগীর ওয়ালেট হাতের কাছে ছিল না";
    ReasonOther => "another reason (see the doctor's words)", "অন্য কারণ (ডাক্তারের ভাষা দেখুন)";
    DisputeOpen => "This was not right: dispute it", "এটি ঠিক হয়নি: আপত্তি জানান";
    DisputeText => "What was wrong (the hospital's administrator reads this)", "কী ভুল হয়েছে (হাসপাতালের প্রশাসক এটি পড়বেন)";
    DisputeEmpty => "Say in a few words what was wrong.", "কী ভুল হয়েছে তা কয়েক কথায় লিখুন।";
    DisputeSend => "Send the dispute", "আপত্তি পাঠান";
    Disputed => "Disputed on {0}: the administrator of {1} sees it.", "{0}-এ আপত্তি জানানো হয়েছে: {1}-এর প্রশাসক এটি দেখতে পান।";

    // Export
    ExportTitle => "Export for a visa medical or an office", "ভিসা মেডিকেল বা অফিসের জন্য রপ্তানি";
    ExportHelp => "Choose records and a format. The file is checked as an office would check it before it is saved.", "রেকর্ড ও ফরম্যাট বেছে নিন। সংরক্ষণের আগে ফাইলটি অফিস যেভাবে যাচাই করবে সেভাবে যাচাই করা হয়।";
    Format => "Format", "ফরম্যাট";
    FormatPdf => "Printable PDF with a QR code", "QR কোডসহ প্রিন্টযোগ্য PDF";
    FormatShc => "SMART Health Card file (.smart-health-card)", "SMART Health Card ফাইল (.smart-health-card)";
    FormatShl => "SMART Health Link", "SMART Health Link";
    SelectAll => "Select all", "সব বেছে নিন";
    SelectNone => "Select none", "কোনোটিই নয়";
    Selected => "{0} selected", "{0}টি বেছে নেওয়া";
    SaveTo => "Save to (folder or file path, optional)", "কোথায় সংরক্ষণ করবেন (ফোল্ডার বা ফাইলের পথ, ঐচ্ছিক)";
    PickFormat => "Choose at least one format.", "অন্তত একটি ফরম্যাট বেছে নিন।";
    LinkUrl => "Where the link's encrypted file will be hosted (https address)", "লিংকের এনক্রিপ্ট করা ফাইল কোথায় রাখা হবে (https ঠিকানা)";
    IncludeReceipts => "Include the access receipts of these records", "এই রেকর্ডগুলোর অ্যাক্সেস রসিদও যুক্ত করুন";
    ConfirmExport => "Type your passphrase to export", "রপ্তানি করতে আপনার পাসফ্রেজ লিখুন";
    ExportButton => "Export", "রপ্তানি করুন";
    ExportSaved => "Saved to {0}", "সংরক্ষিত হয়েছে: {0}";
    ExportVerified => "Checked: it verifies as an office would see it.", "যাচাই করা হয়েছে: অফিস যেভাবে দেখবে সেভাবেই সঠিক।";
    ExportLink => "Link: {0}", "লিংক: {0}";
    Passcode => "Passcode", "পাসকোড";
    StepCheckingPassphrase => "Checking the passphrase", "পাসফ্রেজ যাচাই হচ্ছে";
    StepReading => "Reading", "পড়া হচ্ছে";
    StepDecrypting => "Decrypting", "ডিক্রিপ্ট হচ্ছে";
    StepCollecting => "Collecting records and proofs", "রেকর্ড ও প্রমাণ সংগ্রহ হচ্ছে";
    StepBuilding => "Building the files", "ফাইল তৈরি হচ্ছে";
    StepVerifying => "Verifying", "যাচাই হচ্ছে";
    StepSaving => "Saving", "সংরক্ষণ হচ্ছে";
    StepDone => "Finished", "শেষ";

    // Import
    ImportTitle => "Import a SMART Health Card", "SMART Health Card আমদানি করুন";
    ImportHelp => "Add a card from another provider: a .smart-health-card file, a photo of its QR code, or the shc:/ text.", "অন্য প্রতিষ্ঠানের একটি কার্ড যোগ করুন: একটি .smart-health-card ফাইল, এর QR কোডের ছবি, অথবা shc:/ লেখা।";
    ImportText => "Card text (shc:/…)", "কার্ডের লেখা (shc:/…)";
    ImportFile => "Card file or QR image", "কার্ড ফাইল বা QR ছবি";
    ImportButton => "Check and import", "যাচাই করে আমদানি করুন";
    VerdictValid => "Genuine: the signature is valid and the issuer is known.", "আসল: স্বাক্ষর সঠিক এবং ইস্যুকারী পরিচিত।";
    VerdictUnknownIssuer => "The signature is valid, but the issuer is not in your trust list.", "স্বাক্ষর সঠিক, কিন্তু ইস্যুকারী আপনার ট্রাস্ট লিস্টে নেই।";
    VerdictInvalid => "Not genuine: this card failed the check and was not imported.", "আসল নয়: কার্ডটি যাচাইয়ে ব্যর্থ হয়েছে এবং আমদানি করা হয়নি।";
    FetchKeys => "Fetch an unknown issuer's public keys to check the signature", "অজানা ইস্যুকারীর পাবলিক কী এনে স্বাক্ষর যাচাই করুন";
    AlreadyPresent => "This card was already in your wallet.", "এই কার্ডটি আগে থেকেই আপনার ওয়ালেটে ছিল।";
    OpenRecord => "Open the record", "রেকর্ডটি খুলুন";
    ImportedN => "{0} records imported.", "{0}টি রেকর্ড আমদানি হয়েছে।";
    Issuer => "Issuer", "ইস্যুকারী";

    // Settings
    SettingsTitle => "Settings", "সেটিংস";
    Preferences => "Language and lock", "ভাষা ও লক";
    LockAfter => "Lock after inactivity", "নিষ্ক্রিয় থাকলে লক হবে";
    LockAfterHelp => "The wallet locks itself when it is not used for this long.", "এতক্ষণ ব্যবহার না হলে ওয়ালেট নিজে থেকেই লক হয়ে যাবে।";
    Never => "Never", "কখনো না";
    Saved => "Saved.", "সংরক্ষিত হয়েছে।";
    TrustListTitle => "Consortium trust list", "কনসোর্টিয়াম ট্রাস্ট লিস্ট";
    TrustSigner => "Signed by", "স্বাক্ষরকারী";
    TrustSequence => "Sequence", "ক্রমিক নম্বর";
    TrustIssued => "Issued", "ইস্যুর তারিখ";
    TrustHospitals => "Hospitals in the list", "তালিকার হাসপাতাল";
    UpdateTrustList => "Install a newer trust list", "নতুন ট্রাস্ট লিস্ট ইনস্টল করুন";
    NoTrustListInfo => "Unlock the wallet to see the trust list.", "ট্রাস্ট লিস্ট দেখতে ওয়ালেট খুলুন।";
    BackupTitle => "Backup", "ব্যাকআপ";
    BackupNow => "Back up now", "এখনই ব্যাকআপ নিন";
    BackupSaved => "Backup saved to {0}", "ব্যাকআপ সংরক্ষিত: {0}";
    LastBackup => "Last backup: {0}", "শেষ ব্যাকআপ: {0}";
    NeverBackedUp => "No backup yet.", "এখনো কোনো ব্যাকআপ নেই।";
    ChangePassphrase => "Change passphrase", "পাসফ্রেজ বদলান";
    CurrentPassphrase => "Current passphrase", "বর্তমান পাসফ্রেজ";
    NewPassphrase => "New passphrase", "নতুন পাসফ্রেজ";
    PassphraseChanged => "Your passphrase was changed.", "আপনার পাসফ্রেজ বদলানো হয়েছে।";
    AboutTitle => "About", "পরিচিতি";
    Version => "Version {0}", "সংস্করণ {0}";
    WalletLocation => "Wallet folder", "ওয়ালেট ফোল্ডার";
    KeyStorage => "Key storage", "চাবি সংরক্ষণ";
    KeyInKeychain => "Device keychain and passphrase", "ডিভাইসের কিচেইন ও পাসফ্রেজ";
    KeyPassphraseOnly => "Passphrase only", "শুধু পাসফ্রেজ";
    AboutText => "Spondon is open source. Your records never leave this device unless you share or export them.", "স্পন্দন একটি ওপেন সোর্স সফটওয়্যার। আপনি শেয়ার বা রপ্তানি না করলে আপনার রেকর্ড এই ডিভাইস ছেড়ে কোথাও যায় না।";

    // Errors by code
    ErrNoWallet => "There is no wallet on this device yet.", "এই ডিভাইসে এখনো কোনো ওয়ালেট নেই।";
    ErrAlreadyExists => "A wallet already exists on this device.", "এই ডিভাইসে আগে থেকেই একটি ওয়ালেট আছে।";
    ErrLocked => "The wallet is locked. Unlock it to continue.", "ওয়ালেট লক করা আছে। চালিয়ে যেতে খুলুন।";
    ErrWrongPassphrase => "That passphrase is not right. Try again.", "পাসফ্রেজটি সঠিক নয়। আবার চেষ্টা করুন।";
    ErrWeakPassphrase => "This passphrase is too weak. Use a longer one.", "এই পাসফ্রেজটি খুব দুর্বল। আরও লম্বা একটি ব্যবহার করুন।";
    ErrAuthorizationRequired => "Type your passphrase to confirm this.", "এটি নিশ্চিত করতে আপনার পাসফ্রেজ লিখুন।";
    ErrNoTrustList => "No consortium trust list is installed. Add the one your hospital gave you.", "কোনো কনসোর্টিয়াম ট্রাস্ট লিস্ট ইনস্টল করা নেই। আপনার হাসপাতালের দেওয়াটি যোগ করুন।";
    ErrBadTrustList => "This trust list was refused: it is not signed by the health authority or is older than yours.", "এই ট্রাস্ট লিস্ট গ্রহণ করা হয়নি: এটি স্বাস্থ্য কর্তৃপক্ষের স্বাক্ষরিত নয় বা আপনারটির চেয়ে পুরোনো।";
    ErrBadEnrollmentCode => "This enrollment code is not valid. Check it with the hospital.", "এই নিবন্ধন কোডটি সঠিক নয়। হাসপাতালের সাথে যাচাই করুন।";
    ErrBadQr => "No readable QR code was found in this image.", "এই ছবিতে পড়ার মতো কোনো QR কোড পাওয়া যায়নি।";
    ErrBadToken => "This code is not valid or its signature does not match.", "এই কোডটি সঠিক নয় বা এর স্বাক্ষর মেলে না।";
    ErrBadCard => "This SMART Health Card is not valid.", "এই SMART Health Card সঠিক নয়।";
    ErrBadBackup => "This file is not a Spondon backup, or it is damaged.", "এই ফাইলটি স্পন্দনের ব্যাকআপ নয়, অথবা এটি নষ্ট।";
    ErrUnknownDoctor => "This doctor is not known yet. Add their credential first.", "এই ডাক্তার এখনো পরিচিত নন। আগে তাঁর ক্রেডেনশিয়াল যোগ করুন।";
    ErrUntrustedPeer => "This hospital is not in the consortium trust list.", "এই হাসপাতাল কনসোর্টিয়াম ট্রাস্ট লিস্টে নেই।";
    ErrNotEnrolled => "You are not enrolled at a hospital yet.", "আপনি এখনো কোনো হাসপাতালে নিবন্ধিত নন।";
    ErrPeerUnreachable => "The hospital could not be reached. Check the connection and try again.", "হাসপাতালের সাথে যোগাযোগ করা যায়নি। সংযোগ দেখে আবার চেষ্টা করুন।";
    ErrPeerRefused => "The hospital refused the request.", "হাসপাতাল অনুরোধটি প্রত্যাখ্যান করেছে।";
    ErrPeerBadResponse => "The hospital sent an answer that is not valid.", "হাসপাতাল একটি অবৈধ উত্তর পাঠিয়েছে।";
    ErrHistoryViolation => "Warning: the hospital rewrote its record history. Nothing new from it was kept.", "সতর্কতা: হাসপাতালটি তার রেকর্ডের ইতিহাস বদলেছে। এখান থেকে নতুন কিছু রাখা হয়নি।";
    ErrNotFound => "It was not found.", "এটি পাওয়া যায়নি।";
    ErrInvalid => "The request is not valid.", "অনুরোধটি সঠিক নয়।";
    ErrKeychainUnavailable => "The device keychain cannot be used now. Use your passphrase.", "ডিভাইসের কিচেইন এখন ব্যবহার করা যাচ্ছে না। পাসফ্রেজ ব্যবহার করুন।";
    ErrCorrupt => "A wallet file is damaged.", "ওয়ালেটের একটি ফাইল নষ্ট হয়ে গেছে।";
    ErrIo => "A file could not be read or written.", "একটি ফাইল পড়া বা লেখা যায়নি।";
    ErrExportInvalid => "The export did not pass its check, so it was not saved.", "রপ্তানি করা ফাইলটি যাচাইয়ে ব্যর্থ হয়েছে, তাই সংরক্ষণ করা হয়নি।";
    ErrInternal => "Something failed inside the app.", "অ্যাপের ভেতরে কিছু একটা ব্যর্থ হয়েছে।";
}

/// Fills `{0}`, `{1}` … in a template.
pub fn fill(template: &str, args: &[&str]) -> String {
    let mut out = template.to_owned();
    for (i, a) in args.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), a);
    }
    out
}

/// The key that translates an error code, if the UI knows it.
pub fn error_key(code: &str) -> Option<K> {
    Some(match code {
        codes::NO_WALLET => K::ErrNoWallet,
        codes::ALREADY_EXISTS => K::ErrAlreadyExists,
        codes::LOCKED => K::ErrLocked,
        codes::WRONG_PASSPHRASE => K::ErrWrongPassphrase,
        codes::WEAK_PASSPHRASE => K::ErrWeakPassphrase,
        codes::AUTHORIZATION_REQUIRED => K::ErrAuthorizationRequired,
        codes::NO_TRUST_LIST => K::ErrNoTrustList,
        codes::BAD_TRUST_LIST => K::ErrBadTrustList,
        codes::BAD_ENROLLMENT_CODE => K::ErrBadEnrollmentCode,
        codes::BAD_QR => K::ErrBadQr,
        codes::BAD_TOKEN => K::ErrBadToken,
        codes::BAD_CARD => K::ErrBadCard,
        codes::BAD_BACKUP => K::ErrBadBackup,
        codes::UNKNOWN_DOCTOR => K::ErrUnknownDoctor,
        codes::UNTRUSTED_PEER => K::ErrUntrustedPeer,
        codes::NOT_ENROLLED => K::ErrNotEnrolled,
        codes::PEER_UNREACHABLE => K::ErrPeerUnreachable,
        codes::PEER_REFUSED => K::ErrPeerRefused,
        codes::PEER_BAD_RESPONSE => K::ErrPeerBadResponse,
        codes::HISTORY_VIOLATION => K::ErrHistoryViolation,
        codes::NOT_FOUND => K::ErrNotFound,
        codes::KEYCHAIN_UNAVAILABLE => K::ErrKeychainUnavailable,
        codes::CORRUPT => K::ErrCorrupt,
        codes::IO => K::ErrIo,
        codes::EXPORT_INVALID => K::ErrExportInvalid,
        crate::ipc::NOT_IN_APP => K::NotInApp,
        _ => return None,
    })
}

/// An error in words. Codes whose English message carries the specific reason (`invalid`,
/// `internal`) and unknown codes show the message; known codes show the translation, and in
/// Bangla the English detail is not repeated.
pub fn error_text(lang: Lang, err: &ApiError) -> String {
    match error_key(&err.code) {
        Some(k) => k.text(lang).to_owned(),
        None if err.message.is_empty() => K::Error.text(lang).to_owned(),
        None => match lang {
            Lang::En => err.message.clone(),
            Lang::Bn => format!("{} ({})", K::Error.text(lang), err.message),
        },
    }
}

/// The current language, shared through the reactive context.
#[derive(Clone, Copy, Debug)]
pub struct I18n {
    /// The language signal.
    pub lang: RwSignal<Lang>,
}

impl I18n {
    /// The current language (tracked).
    pub fn get(&self) -> Lang {
        self.lang.get()
    }

    /// A string in the current language (tracked).
    pub fn t(&self, k: K) -> &'static str {
        k.text(self.lang.get())
    }

    /// A template filled with arguments, in the current language (tracked).
    pub fn f(&self, k: K, args: &[&str]) -> String {
        fill(k.text(self.lang.get()), args)
    }

    /// A number in the current language's digits (tracked).
    pub fn n(&self, n: impl std::fmt::Display) -> String {
        crate::fmt::num(self.lang.get(), n)
    }

    /// An error in words in the current language (tracked).
    pub fn err(&self, e: &ApiError) -> String {
        error_text(self.lang.get(), e)
    }
}

/// The language context (provided by the app root).
pub fn use_i18n() -> I18n {
    use_context::<I18n>().unwrap_or_else(|| I18n {
        lang: RwSignal::new(Lang::En),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_bengali(s: &str) -> bool {
        s.chars().any(|c| ('\u{0980}'..='\u{09FF}').contains(&c))
    }

    #[test]
    fn every_key_has_both_languages() {
        for k in K::ALL {
            assert!(!k.text(Lang::En).trim().is_empty(), "{k:?} en");
            assert!(!k.text(Lang::Bn).trim().is_empty(), "{k:?} bn");
        }
    }

    #[test]
    fn bangla_is_bangla_not_transliteration() {
        // Proper names of formats stay in Latin letters; everything else is in Bengali script.
        let latin_ok = [K::LangSwitchTo, K::FormatShl];
        for k in K::ALL {
            if latin_ok.contains(k) {
                continue;
            }
            assert!(has_bengali(k.text(Lang::Bn)), "{k:?} has no Bengali script");
            assert!(
                !has_bengali(k.text(Lang::En)) || *k == K::LangSwitchTo,
                "{k:?} English has Bengali"
            );
        }
    }

    #[test]
    fn placeholders_match() {
        for k in K::ALL {
            for i in 0..4 {
                let p = format!("{{{i}}}");
                assert_eq!(
                    k.text(Lang::En).contains(&p),
                    k.text(Lang::Bn).contains(&p),
                    "{k:?} placeholder {p}"
                );
            }
        }
    }

    #[test]
    fn errors_by_code_with_fallback() {
        let e = ApiError::new("wrong_passphrase", "wrong passphrase");
        assert_eq!(error_text(Lang::Bn, &e), "পাসফ্রেজটি সঠিক নয়। আবার চেষ্টা করুন।");
        let e = ApiError::new("brand_new_code", "The disk is full");
        assert_eq!(error_text(Lang::En, &e), "The disk is full");
        assert!(error_text(Lang::Bn, &e).contains("The disk is full"));
        // Every stable code the contract lists has a translation, except those that carry
        // their reason in the message.
        for code in [
            codes::NO_WALLET,
            codes::LOCKED,
            codes::BAD_QR,
            codes::HISTORY_VIOLATION,
            codes::EXPORT_INVALID,
        ] {
            assert!(error_key(code).is_some(), "{code}");
        }
    }

    #[test]
    fn fill_placeholders() {
        assert_eq!(fill("{0} of {1}", &["2", "5"]), "2 of 5");
    }
}
