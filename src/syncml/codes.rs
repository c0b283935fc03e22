//! Status and alert codes (protocol guide §12, §13), with their numbers.

/// Defines a code enum whose unnamed values survive as `Other(n)`.
macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $num:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($var,)*
            Other(u16),
        }

        impl $name {
            pub fn code(self) -> u16 {
                match self {
                    $($name::$var => $num,)*
                    $name::Other(n) => n,
                }
            }

            pub fn from_code(n: u16) -> Self {
                match n {
                    $($num => $name::$var,)*
                    other => $name::Other(other),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.code())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse::<u16>().map($name::from_code)
            }
        }

        impl From<u16> for $name {
            fn from(n: u16) -> Self {
                $name::from_code(n)
            }
        }
    };
}

code_enum! {
    /// The code in an `Alert`'s `Data`.
    AlertCode {
        Display = 100,
        TwoWay = 200,
        SlowSync = 201,
        OneWayFromClient = 202,
        RefreshFromClient = 203,
        OneWayFromServer = 204,
        RefreshFromServer = 205,
        TwoWayByServer = 206,
        OneWayFromClientByServer = 207,
        RefreshFromClientByServer = 208,
        OneWayFromServerByServer = 209,
        RefreshFromServerByServer = 210,
        ResultAlert = 221,
        NextMessage = 222,
        NoEndOfData = 223,
        Suspend = 224,
        Resume = 225,
    }
}

impl AlertCode {
    /// The DevInf `SyncType` (1-7) for a sync-initiating alert, if it is one.
    pub fn sync_type(self) -> Option<u8> {
        match self.code() {
            200 => Some(1),
            201 => Some(2),
            202 => Some(3),
            203 => Some(4),
            204 => Some(5),
            205 => Some(6),
            206..=210 => Some(7),
            _ => None,
        }
    }
}

code_enum! {
    /// The code in a `Status`'s `Data`.
    StatusCode {
        InProgress = 101,
        Ok = 200,
        ItemAdded = 201,
        AcceptedForProcessing = 202,
        NonAuthoritative = 203,
        NoContent = 204,
        ResetContent = 205,
        PartialContent = 206,
        ConflictResolvedWithMerge = 207,
        ConflictResolvedClientWins = 208,
        ConflictResolvedWithDuplicate = 209,
        DeleteWithoutArchive = 210,
        ItemNotDeleted = 211,
        AuthenticationAccepted = 212,
        ChunkedItemAccepted = 213,
        OperationCancelled = 214,
        NotExecuted = 215,
        AtomicRollBackOk = 216,
        MultipleChoices = 300,
        MovedPermanently = 301,
        Found = 302,
        SeeOther = 303,
        NotModified = 304,
        UseProxy = 305,
        BadRequest = 400,
        InvalidCredentials = 401,
        PaymentRequired = 402,
        Forbidden = 403,
        NotFound = 404,
        CommandNotAllowed = 405,
        OptionalFeatureNotSupported = 406,
        MissingCredentials = 407,
        RequestTimeout = 408,
        Conflict = 409,
        Gone = 410,
        SizeRequired = 411,
        IncompleteCommand = 412,
        RequestEntityTooLarge = 413,
        UriTooLong = 414,
        UnsupportedMediaType = 415,
        RequestedSizeTooBig = 416,
        RetryLater = 417,
        AlreadyExists = 418,
        ConflictResolvedServerWins = 419,
        DeviceFull = 420,
        UnknownSearchGrammar = 421,
        BadCgiScript = 422,
        SoftDeleteConflict = 423,
        SizeMismatch = 424,
        PermissionDenied = 425,
        PartialItemNotAccepted = 426,
        ItemNotEmpty = 427,
        MoveFailed = 428,
        CommandFailed = 500,
        CommandNotImplemented = 501,
        BadGateway = 502,
        ServiceUnavailable = 503,
        GatewayTimeout = 504,
        DtdVersionNotSupported = 505,
        ProcessingError = 506,
        AtomicFailed = 507,
        RefreshRequired = 508,
        // Reserved in the spec; libsynthesis uses it for "resume refused, another sync
        // type follows", and its clients understand it so.
        ResumeRefused = 509,
        DataStoreFailure = 510,
        ServerFailure = 511,
        SynchronizationFailed = 512,
        ProtocolVersionNotSupported = 513,
        OperationCancelled514 = 514,
        AtomicRollBackFailed = 516,
        AtomicResponseTooLarge = 517,
    }
}

impl StatusCode {
    /// 2xx: the command succeeded.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        assert_eq!(StatusCode::from_code(508), StatusCode::RefreshRequired);
        assert_eq!(StatusCode::RefreshRequired.code(), 508);
        assert_eq!(StatusCode::from_code(299), StatusCode::Other(299));
        assert_eq!(
            "212".parse::<StatusCode>(),
            Ok(StatusCode::AuthenticationAccepted)
        );
        assert_eq!(AlertCode::from_code(225), AlertCode::Resume);
        assert_eq!(AlertCode::from_code(1201).code(), 1201);
        assert_eq!(AlertCode::SlowSync.sync_type(), Some(2));
        assert_eq!(AlertCode::from_code(208).sync_type(), Some(7));
        assert_eq!(AlertCode::NextMessage.sync_type(), None);
        assert!("x".parse::<AlertCode>().is_err());
    }
}
