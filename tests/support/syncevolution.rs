//! SyncEvolution as the phone (filled in below).
