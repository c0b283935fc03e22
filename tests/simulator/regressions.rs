//! Shrunk scenarios of failures the simulator found, replayed: each test names the rule
//! the bridge broke.

use crate::phone::Kind;
use crate::run;
use crate::script::{Faults, Op, Scenario, SyncKind};
use crate::upstream::Armed;

fn phone(v12: bool, wbxml: bool, holds_note: bool) -> Kind {
    Kind {
        v12,
        wbxml,
        max_msg_size: 4000,
        per_message: 2,
        holds_note,
    }
}

#[test]
fn a_phone_change_to_an_item_deleted_upstream_re_creates_it_and_keeps_it_on_the_phone() {
    let s = Scenario {
        phones: vec![phone(true, false, false)],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::ServerDelete(5),
            Op::PhoneEdit(0, 2),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_slow_sync_sends_an_item_the_phone_deleted_as_new_not_as_a_replace_of_a_gone_luid() {
    let s = Scenario {
        phones: vec![phone(false, false, false), phone(false, false, false)],
        ops: vec![
            Op::PhoneAdd(1),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::PhoneDelete(1, 0),
            Op::Sync(1, SyncKind::Slow, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_slow_sync_that_failed_upstream_does_not_send_the_phone_its_own_item_again() {
    let s = Scenario {
        phones: vec![phone(true, false, true)],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::Sync(
                0,
                SyncKind::Slow,
                Faults {
                    upstream: Armed {
                        fail_request: Some(1),
                        ..Armed::default()
                    },
                    ..Faults::default()
                },
            ),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_wbxml_phone_without_notes_keeps_the_server_note_through_its_edits() {
    let s = Scenario {
        phones: vec![phone(true, true, false), phone(false, false, true)],
        ops: vec![
            Op::ServerAdd,
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::PhoneEdit(0, 0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::PhoneEdit(1, 0),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_slow_sync_that_re_creates_an_item_deleted_upstream_keeps_its_new_pairing() {
    let s = Scenario {
        phones: vec![phone(false, false, false), phone(true, false, true)],
        ops: vec![
            Op::ServerAdd,
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::Sync(1, SyncKind::RefreshFromServer, Faults::default()),
            Op::PhoneDelete(0, 7),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::Sync(1, SyncKind::Slow, Faults::default()),
            Op::ServerEdit(0),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

/// Two sessions in a row: the server's card reaches the phone, whose Map is lost when it
/// gives up before package 5.
fn map_lost_then(phones: usize, after: Vec<Op>) -> Scenario {
    let mut ops = vec![
        Op::ServerAdd,
        Op::Sync(0, SyncKind::TwoWay, Faults::default()),
        Op::ServerAdd,
        Op::Sync(
            0,
            SyncKind::TwoWay,
            Faults {
                give_up_at: Some(3),
                ..Faults::default()
            },
        ),
    ];
    ops.extend(after);
    Scenario {
        phones: (0..phones).map(|_| phone(true, false, true)).collect(),
        ops,
    }
}

#[test]
fn a_lost_map_costs_a_slow_sync_never_a_duplicate() {
    for pick in 0..2 {
        let s = map_lost_then(
            1,
            vec![
                Op::PhoneEdit(0, pick),
                Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            ],
        );
        assert_eq!(run(&s), Ok(()), "edit of item {pick}");
    }
}

#[test]
fn a_card_deleted_upstream_before_the_phones_map_arrived_goes_from_the_phone() {
    for pick in 0..2 {
        let s = map_lost_then(1, vec![Op::ServerDelete(pick)]);
        assert_eq!(run(&s), Ok(()), "delete of item {pick}");
    }
}

#[test]
fn a_deleted_card_changed_on_two_phones_is_on_the_server_once() {
    let s = Scenario {
        phones: vec![phone(true, false, true), phone(false, false, true)],
        ops: vec![
            Op::ServerAdd,
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::ServerDelete(0),
            Op::PhoneEdit(0, 0),
            Op::PhoneEdit(1, 0),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_slow_sync_re_creates_a_card_deleted_upstream_at_its_old_href_so_a_phone_edit_lands_on_it() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: false,
                wbxml: true,
                max_msg_size: 2785,
                per_message: 3,
                holds_note: true,
            },
            Kind {
                v12: false,
                wbxml: true,
                max_msg_size: 5751,
                per_message: 1,
                holds_note: false,
            },
        ],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::ServerDelete(0),
            Op::Sync(1, SyncKind::Slow, Faults::default()),
            Op::PhoneEdit(0, 0),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn an_unchanged_copy_received_in_a_session_broken_before_its_map_goes_when_deleted_upstream() {
    let s = Scenario {
        phones: vec![phone(true, false, true), phone(true, false, true)],
        ops: vec![
            Op::ServerAdd,
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::PhoneEdit(1, 0),
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::ServerDelete(5),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_phone_edit_that_re_creates_an_item_deleted_upstream_cancels_the_delete_owed_for_it() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: true,
                wbxml: true,
                max_msg_size: 4594,
                per_message: 2,
                holds_note: true,
            },
            Kind {
                v12: false,
                wbxml: false,
                max_msg_size: 5151,
                per_message: 1,
                holds_note: true,
            },
        ],
        ops: vec![
            Op::PhoneAdd(1),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::PhoneDelete(1, 3),
            Op::PhoneAdd(1),
            Op::PhoneAdd(1),
            Op::Sync(
                1,
                SyncKind::Slow,
                Faults {
                    give_up_at: Some(4),
                    ..Faults::default()
                },
            ),
            Op::Sync(
                1,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(5),
                    phone_edit_at: Some((5, 5)),
                    ..Faults::default()
                },
            ),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_server_version_sent_back_in_a_session_that_started_over_still_reaches_the_phone() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 4565,
                per_message: 4,
                holds_note: true,
            },
            Kind {
                v12: false,
                wbxml: false,
                max_msg_size: 5349,
                per_message: 1,
                holds_note: true,
            },
        ],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::ServerAdd,
            Op::Sync(
                1,
                SyncKind::RefreshFromServer,
                Faults {
                    start_over_at: Some(2),
                    ..Faults::default()
                },
            ),
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    server_edit_at: Some((3, 2)),
                    ..Faults::default()
                },
            ),
            Op::PhoneEdit(1, 4),
            Op::Sync(
                1,
                SyncKind::TwoWay,
                Faults {
                    start_over_at: Some(3),
                    ..Faults::default()
                },
            ),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_phone_that_starts_over_under_the_same_session_id_is_not_answered_from_the_resend_cache() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: false,
                wbxml: false,
                max_msg_size: 4479,
                per_message: 2,
                holds_note: true,
            },
            Kind {
                v12: false,
                wbxml: false,
                max_msg_size: 5976,
                per_message: 2,
                holds_note: false,
            },
        ],
        ops: vec![
            Op::ServerAdd,
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    start_over_at: Some(2),
                    ..Faults::default()
                },
            ),
            Op::Sync(
                1,
                SyncKind::TwoWay,
                Faults {
                    phone_edit_at: Some((3, 6)),
                    ..Faults::default()
                },
            ),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::PhoneEdit(0, 7),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_change_the_phone_made_to_a_version_it_acknowledged_wins_in_the_slow_sync_after_a_failed_session(
) {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: false,
                wbxml: false,
                max_msg_size: 2944,
                per_message: 2,
                holds_note: true,
            },
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 4060,
                per_message: 3,
                holds_note: false,
            },
            Kind {
                v12: true,
                wbxml: true,
                max_msg_size: 5982,
                per_message: 4,
                holds_note: false,
            },
        ],
        ops: vec![
            Op::PhoneAdd(2),
            Op::Sync(2, SyncKind::Slow, Faults::default()),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::PhoneAdd(0),
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    server_edit_at: Some((2, 7)),
                    upstream: Armed {
                        fail_request: Some(1),
                        ..Armed::default()
                    },
                    ..Faults::default()
                },
            ),
            Op::PhoneEdit(0, 6),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

/// Seed 1007583: phone 1's session broke after it applied the bridge's Delete; the card
/// came back upstream, and the phone answered its Replace with 404 and never got it.
#[test]
fn a_phone_that_answers_a_replace_with_404_gets_the_item_again_as_new() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: false,
                wbxml: true,
                max_msg_size: 2079,
                per_message: 4,
                holds_note: true,
            },
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 5038,
                per_message: 4,
                holds_note: false,
            },
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 5625,
                per_message: 4,
                holds_note: true,
            },
        ],
        ops: vec![
            Op::PhoneAdd(1),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::Sync(2, SyncKind::RefreshFromServer, Faults::default()),
            Op::PhoneDelete(2, 0),
            Op::Sync(2, SyncKind::TwoWay, Faults::default()),
            Op::Sync(
                1,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::PhoneEdit(0, 6),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

/// Seed 1068099: the phone's copy failed upstream, the bridge sent the server's version
/// anyway and took the phone's 200 for a copy it holds; the phone kept its own, and the
/// next slow sync read that as the phone's change and wrote its old e-mail back.
#[test]
fn the_server_version_of_an_item_whose_phone_change_failed_upstream_waits_for_the_next_session() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 2446,
                per_message: 2,
                holds_note: false,
            },
            Kind {
                v12: true,
                wbxml: true,
                max_msg_size: 4987,
                per_message: 1,
                holds_note: true,
            },
            Kind {
                v12: true,
                wbxml: true,
                max_msg_size: 3572,
                per_message: 2,
                holds_note: true,
            },
        ],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    give_up_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::ServerEdit(7),
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    upstream: Armed {
                        fail_request: Some(1),
                        ..Armed::default()
                    },
                    ..Faults::default()
                },
            ),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

/// Seed 1047913: the first session broke before its Map; the phone edited a card it
/// had been sent, and the slow sync after united the edit with the server's version,
/// so the server's older note won over the phone's new one.
#[test]
fn a_changed_copy_of_an_item_whose_map_was_lost_is_paired_with_it_and_its_edit_wins() {
    let s = Scenario {
        phones: vec![Kind {
            v12: true,
            wbxml: true,
            max_msg_size: 3238,
            per_message: 1,
            holds_note: true,
        }],
        ops: vec![
            Op::ServerAdd,
            Op::ServerAdd,
            Op::PhoneAdd(0),
            Op::PhoneEdit(0, 4),
            Op::PhoneEdit(0, 2),
            Op::PhoneDelete(0, 4),
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    give_up_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::PhoneAdd(0),
            Op::ServerAdd,
            Op::PhoneAdd(0),
            Op::PhoneEdit(0, 7),
            Op::PhoneEdit(0, 0),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

/// Seed 1022326, a false positive of the model: the phone's edit of a card deleted
/// upstream re-created it, the session broke before the phone learnt so, and the phone
/// then deleted the card, a delete its slow sync could not carry. The edit did reach the
/// server, so the card stays.
#[test]
fn an_edit_that_reached_the_server_before_the_phone_deleted_the_card_keeps_it() {
    let s = Scenario {
        phones: vec![Kind {
            v12: false,
            wbxml: true,
            max_msg_size: 5060,
            per_message: 1,
            holds_note: false,
        }],
        ops: vec![
            Op::ServerAdd,
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::ServerDelete(2),
            Op::PhoneEdit(0, 0),
            Op::PhoneAdd(0),
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(4),
                    ..Faults::default()
                },
            ),
            Op::PhoneDelete(0, 0),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

/// Seed 1021230, a false positive of the model: a phone without notes deleted a card
/// whose note the server held, and another such phone's edit made the card again; the
/// note went with the delete.
#[test]
fn a_note_deleted_with_its_card_is_not_owed_to_a_card_made_again_without_it() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: true,
                wbxml: true,
                max_msg_size: 3358,
                per_message: 1,
                holds_note: false,
            },
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 3996,
                per_message: 1,
                holds_note: false,
            },
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 1655,
                per_message: 1,
                holds_note: false,
            },
        ],
        ops: vec![
            Op::PhoneAdd(2),
            Op::Sync(2, SyncKind::TwoWay, Faults::default()),
            Op::PhoneAdd(0),
            Op::PhoneAdd(2),
            Op::PhoneEdit(2, 2),
            Op::Sync(
                1,
                SyncKind::TwoWay,
                Faults {
                    server_edit_at: Some((3, 1)),
                    ..Faults::default()
                },
            ),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::Sync(2, SyncKind::TwoWay, Faults::default()),
            Op::PhoneEdit(1, 0),
            Op::ServerAdd,
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::PhoneDelete(0, 5),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

/// Seed 1051480: a slow sync sent the server's version back and broke before the
/// phone's acknowledgement came; the phone edited that version, and the next slow sync,
/// knowing neither copy, united the edit away (the server's older note won).
#[test]
fn an_edit_of_a_version_sent_but_never_acknowledged_wins_field_by_field() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: false,
                wbxml: true,
                max_msg_size: 2922,
                per_message: 4,
                holds_note: true,
            },
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 3433,
                per_message: 4,
                holds_note: false,
            },
        ],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::ServerEdit(3),
            Op::Sync(
                0,
                SyncKind::Slow,
                Faults {
                    restart_at: Some(3),
                    phone_edit_at: Some((3, 4)),
                    ..Faults::default()
                },
            ),
            Op::Sync(0, SyncKind::Slow, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

/// Seed 2000507: the phone's change was merged and written, the merged version was to
/// go back, and the phone started over before it did; the change came again and, the
/// map knowing no copy, overwrote an edit made upstream in between.
#[test]
fn a_change_sent_again_after_its_merge_was_written_loses_to_a_newer_server_edit() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: false,
                wbxml: false,
                max_msg_size: 3490,
                per_message: 3,
                holds_note: true,
            },
            Kind {
                v12: true,
                wbxml: true,
                max_msg_size: 5447,
                per_message: 1,
                holds_note: true,
            },
        ],
        ops: vec![
            Op::ServerAdd,
            Op::Sync(0, SyncKind::RefreshFromServer, Faults::default()),
            Op::ServerEdit(0),
            Op::PhoneEdit(0, 3),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::PhoneAdd(1),
            Op::PhoneEdit(1, 2),
            Op::Sync(0, SyncKind::Slow, Faults::default()),
            Op::Sync(
                1,
                SyncKind::TwoWay,
                Faults {
                    start_over_at: Some(3),
                    server_edit_at: Some((3, 0)),
                    ..Faults::default()
                },
            ),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn an_edit_that_re_created_a_deleted_card_before_the_session_broke_may_come_back_in_a_refresh() {
    let s = Scenario {
        phones: vec![Kind {
            v12: true,
            wbxml: false,
            max_msg_size: 1565,
            per_message: 2,
            holds_note: false,
        }],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::PhoneEdit(0, 1),
            Op::ServerDelete(4),
            Op::ServerAdd,
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(4),
                    ..Faults::default()
                },
            ),
            Op::Sync(0, SyncKind::RefreshFromServer, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_slow_sync_adds_a_phone_item_that_pairs_with_no_item_awaiting_its_map() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: false,
                wbxml: false,
                max_msg_size: 5563,
                per_message: 1,
                holds_note: true,
            },
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 5515,
                per_message: 1,
                holds_note: true,
            },
        ],
        ops: vec![
            Op::PhoneAdd(0),
            Op::ServerAdd,
            Op::Sync(1, SyncKind::Slow, Faults::default()),
            Op::PhoneAdd(1),
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::PhoneAdd(1),
            Op::Sync(
                1,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(4),
                    ..Faults::default()
                },
            ),
            Op::PhoneAdd(1),
            Op::Sync(
                1,
                SyncKind::TwoWay,
                Faults {
                    give_up_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::PhoneDelete(1, 4),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_slow_sync_that_re_creates_a_card_deleted_before_its_map_came_leaves_no_delete_owed() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 1922,
                per_message: 3,
                holds_note: true,
            },
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 4138,
                per_message: 1,
                holds_note: true,
            },
            Kind {
                v12: false,
                wbxml: false,
                max_msg_size: 4899,
                per_message: 3,
                holds_note: true,
            },
        ],
        ops: vec![
            Op::PhoneAdd(1),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::PhoneDelete(0, 1),
            Op::ServerAdd,
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    give_up_at: Some(4),
                    upstream: Armed {
                        edit_before_write: Some(1),
                        ..Armed::default()
                    },
                    ..Faults::default()
                },
            ),
            Op::PhoneEdit(0, 1),
            Op::ServerDelete(7),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_delete_sent_in_a_session_that_broke_may_have_taken_a_note_along() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: true,
                wbxml: true,
                max_msg_size: 3358,
                per_message: 1,
                holds_note: false,
            },
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 3996,
                per_message: 1,
                holds_note: false,
            },
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 1655,
                per_message: 1,
                holds_note: false,
            },
        ],
        ops: vec![
            Op::PhoneAdd(2),
            Op::Sync(2, SyncKind::TwoWay, Faults::default()),
            Op::PhoneAdd(0),
            Op::PhoneAdd(2),
            Op::PhoneEdit(2, 2),
            Op::Sync(
                1,
                SyncKind::TwoWay,
                Faults {
                    server_edit_at: Some((3, 1)),
                    ..Faults::default()
                },
            ),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::Sync(2, SyncKind::TwoWay, Faults::default()),
            Op::PhoneEdit(1, 0),
            Op::ServerAdd,
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::PhoneEdit(0, 3),
            Op::PhoneDelete(0, 5),
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(4),
                    ..Faults::default()
                },
            ),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_slow_sync_holds_back_an_edited_copy_of_an_item_awaiting_its_map_instead_of_adding_it_twice() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: true,
                wbxml: true,
                max_msg_size: 5222,
                per_message: 3,
                holds_note: true,
            },
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 4116,
                per_message: 4,
                holds_note: false,
            },
        ],
        ops: vec![
            Op::ServerAdd,
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::PhoneEdit(0, 5),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_map_that_comes_after_a_slow_sync_added_its_item_anew_does_not_delete_it_from_the_phone() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 2532,
                per_message: 2,
                holds_note: true,
            },
            Kind {
                v12: false,
                wbxml: false,
                max_msg_size: 3102,
                per_message: 2,
                holds_note: true,
            },
        ],
        ops: vec![
            Op::ServerAdd,
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::PhoneEdit(0, 1),
            Op::PhoneAdd(1),
            Op::ServerDelete(0),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_late_map_after_a_phone_that_started_over_does_not_delete_its_re_added_card() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: true,
                wbxml: true,
                max_msg_size: 5805,
                per_message: 4,
                holds_note: true,
            },
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 1538,
                per_message: 2,
                holds_note: true,
            },
            Kind {
                v12: false,
                wbxml: false,
                max_msg_size: 4749,
                per_message: 4,
                holds_note: true,
            },
        ],
        ops: vec![
            Op::PhoneAdd(0),
            Op::ServerAdd,
            Op::Sync(
                1,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::ServerDelete(2),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::PhoneEdit(1, 3),
            Op::Sync(
                1,
                SyncKind::TwoWay,
                Faults {
                    start_over_at: Some(3),
                    ..Faults::default()
                },
            ),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_slow_sync_re_creates_at_its_old_href_a_changed_copy_of_an_item_gone_before_its_map_came() {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: true,
                wbxml: false,
                max_msg_size: 1593,
                per_message: 3,
                holds_note: false,
            },
            Kind {
                v12: false,
                wbxml: false,
                max_msg_size: 5409,
                per_message: 3,
                holds_note: true,
            },
            Kind {
                v12: true,
                wbxml: true,
                max_msg_size: 3654,
                per_message: 3,
                holds_note: true,
            },
        ],
        ops: vec![
            Op::ServerAdd,
            Op::Sync(2, SyncKind::TwoWay, Faults::default()),
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::PhoneEdit(2, 2),
            Op::ServerDelete(2),
            Op::PhoneEdit(0, 6),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_one_way_slow_sync_to_the_server_leaves_no_server_item_off_the_phone() {
    let s = Scenario {
        phones: vec![phone(false, false, false), phone(true, false, false)],
        ops: vec![
            Op::PhoneAdd(0),
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::Slow, Faults::default()),
            Op::Sync(
                1,
                SyncKind::Slow,
                Faults {
                    upstream: Armed {
                        fail_request: Some(1),
                        ..Armed::default()
                    },
                    ..Faults::default()
                },
            ),
            Op::PhoneDelete(0, 2),
            Op::Sync(1, SyncKind::OneWayFromClient, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_phone_item_a_one_way_slow_sync_from_the_server_left_unwritten_goes_up_next_sync() {
    let s = Scenario {
        phones: vec![phone(true, true, true)],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::OneWayFromServer, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_refresh_from_the_server_after_a_one_way_slow_sync_from_it_owes_nothing_it_never_wrote() {
    let s = Scenario {
        phones: vec![phone(true, false, true)],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::OneWayFromServer, Faults::default()),
            Op::Sync(0, SyncKind::RefreshFromServer, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_refresh_from_the_phone_that_merged_a_newer_server_edit_sends_the_merge_back_next_sync() {
    let s = Scenario {
        phones: vec![phone(false, false, false), phone(false, false, false)],
        ops: vec![
            Op::PhoneAdd(1),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::PhoneEdit(1, 1),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::Sync(0, SyncKind::RefreshFromClient, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_refresh_from_the_phone_after_another_client_edited_its_card_sends_the_merge_back() {
    let s = Scenario {
        phones: vec![phone(true, false, false), phone(true, false, true)],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::Sync(1, SyncKind::RefreshFromServer, Faults::default()),
            Op::ServerEdit(5),
            Op::Sync(1, SyncKind::RefreshFromClient, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_refresh_from_the_phone_re_creates_its_card_another_client_deleted() {
    let s = Scenario {
        phones: vec![phone(false, false, false)],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::ServerDelete(2),
            Op::Sync(0, SyncKind::RefreshFromClient, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_refresh_from_the_phone_re_creates_its_card_another_phone_deleted() {
    let s = Scenario {
        phones: vec![phone(false, false, false), phone(false, false, false)],
        ops: vec![
            Op::PhoneAdd(1),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::PhoneDelete(1, 1),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::Sync(0, SyncKind::RefreshFromClient, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_one_way_slow_sync_from_the_server_keeps_a_phone_edit_of_an_item_whose_first_sync_broke() {
    let s = Scenario {
        phones: vec![phone(false, true, true)],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(
                0,
                SyncKind::Slow,
                Faults {
                    give_up_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::PhoneEdit(0, 4),
            Op::Sync(0, SyncKind::OneWayFromServer, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_delete_from_a_phone_that_answered_the_newer_version_with_404_does_not_delete_that_version() {
    let s = Scenario {
        phones: vec![phone(true, false, false), phone(false, true, false)],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::PhoneDelete(0, 5),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::ServerEdit(2),
            Op::Sync(0, SyncKind::OneWayFromServer, Faults::default()),
            Op::PhoneEdit(1, 0),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_refresh_from_a_phone_whose_first_sync_broke_before_its_map_keeps_the_card_it_holds() {
    let s = Scenario {
        phones: vec![phone(true, true, true), phone(true, true, true)],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::Sync(
                1,
                SyncKind::OneWayFromServer,
                Faults {
                    restart_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::ServerEdit(6),
            Op::Sync(1, SyncKind::RefreshFromClient, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_refresh_from_the_phone_pairs_its_copy_of_a_card_gone_before_its_map_came() {
    let s = Scenario {
        phones: vec![phone(true, true, true), phone(true, false, false)],
        ops: vec![
            Op::PhoneAdd(1),
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::ServerDelete(1),
            Op::Sync(0, SyncKind::RefreshFromClient, Faults::default()),
            Op::PhoneEdit(1, 6),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_one_way_slow_sync_from_the_server_after_a_broken_first_sync_keeps_a_newer_server_edit() {
    let s = Scenario {
        phones: vec![Kind {
            v12: true,
            wbxml: false,
            max_msg_size: 1947,
            per_message: 1,
            holds_note: true,
        }],
        ops: vec![
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::PhoneAdd(0),
            Op::ServerAdd,
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    give_up_at: Some(3),
                    ..Faults::default()
                },
            ),
            Op::ServerEdit(3),
            Op::Sync(0, SyncKind::OneWayFromServer, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_one_way_slow_sync_to_the_server_writes_a_phone_edit_over_the_server_s_older_note() {
    let s = Scenario {
        phones: vec![phone(true, false, true)],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::Sync(
                0,
                SyncKind::OneWayFromServer,
                Faults {
                    upstream: Armed {
                        fail_request: Some(1),
                        ..Armed::default()
                    },
                    ..Faults::default()
                },
            ),
            Op::PhoneEdit(0, 3),
            Op::Sync(0, SyncKind::OneWayFromClient, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_one_way_sync_from_the_phone_after_a_restart_mid_session_keeps_the_phone_s_edit() {
    let s = Scenario {
        phones: vec![phone(true, true, true), phone(true, true, true)],
        ops: vec![
            Op::PhoneAdd(1),
            Op::Sync(
                1,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(3),
                    phone_edit_at: Some((3, 1)),
                    ..Faults::default()
                },
            ),
            Op::Sync(1, SyncKind::OneWayFromClient, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_one_way_sync_from_the_phone_started_over_leaves_a_server_delete_for_the_next_sync() {
    let s = Scenario {
        phones: vec![phone(true, false, true)],
        ops: vec![
            Op::PhoneAdd(0),
            Op::Sync(0, SyncKind::TwoWay, Faults::default()),
            Op::ServerDelete(6),
            Op::Sync(
                0,
                SyncKind::OneWayFromClient,
                Faults {
                    start_over_at: Some(3),
                    ..Faults::default()
                },
            ),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}

#[test]
fn a_one_way_slow_sync_from_the_server_pairs_an_edited_copy_whose_map_never_came_and_keeps_the_edit(
) {
    let s = Scenario {
        phones: vec![
            Kind {
                v12: false,
                wbxml: true,
                max_msg_size: 3888,
                per_message: 1,
                holds_note: true,
            },
            phone(true, true, false),
        ],
        ops: vec![
            Op::PhoneAdd(0),
            Op::PhoneAdd(0),
            Op::PhoneAdd(1),
            Op::ServerAdd,
            Op::Sync(1, SyncKind::TwoWay, Faults::default()),
            Op::Sync(
                0,
                SyncKind::TwoWay,
                Faults {
                    restart_at: Some(4),
                    ..Faults::default()
                },
            ),
            Op::PhoneEdit(0, 6),
            Op::Sync(0, SyncKind::OneWayFromServer, Faults::default()),
        ],
    };
    assert_eq!(run(&s), Ok(()));
}
