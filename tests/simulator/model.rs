//! The simulator's model: every item is a person `k` (its name and mobile never change)
//! with an e-mail address and a note, each value tagged with the write that made it. Every
//! write and delete is logged with the writes its author had seen, so the final state can
//! be judged: a write may be missing only where a write it never saw (a concurrent one)
//! won, and an item may be missing only where someone deleted it.

use std::collections::{BTreeMap, BTreeSet};

/// How many e-mail addresses a card may hold besides its newest: a slow sync unites the
/// phone's addresses with the server's (docs/matching-and-conflicts.md), so a card can
/// carry an older address next to a newer one.
pub const MORE_EMAILS: usize = 3;

/// One person's fields as a copy holds them: tags of the writes that set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Card {
    pub k: u32,
    /// The newest e-mail address (the highest tag): the one a phone's edit replaces.
    pub email: Option<u32>,
    /// Older addresses a slow sync united with it, ascending.
    pub more_emails: [Option<u32>; MORE_EMAILS],
    pub note: Option<u32>,
}

impl Card {
    pub fn new(k: u32, email: Option<u32>, note: Option<u32>) -> Card {
        Card {
            k,
            email,
            more_emails: [None; MORE_EMAILS],
            note,
        }
    }

    /// Every e-mail tag the copy holds, oldest first.
    pub fn emails(&self) -> Vec<u32> {
        self.more_emails
            .iter()
            .flatten()
            .copied()
            .chain(self.email)
            .collect()
    }

    /// The write tags this copy holds: what its next writer has seen.
    pub fn tags(&self) -> BTreeSet<u32> {
        self.emails().into_iter().chain(self.note).collect()
    }

    /// A vCard 2.1 as a phone sends it; `note` only when the phone holds notes.
    pub fn vcard21(&self, with_note: bool) -> String {
        let mut s = format!(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Fam{k};Giv{k}\r\nFN:Giv{k} Fam{k}\r\nTEL;CELL:+4940{k:05}\r\n",
            k = self.k
        );
        for e in self.emails() {
            s += &format!("EMAIL;INTERNET:e{e}@k{}.example\r\n", self.k);
        }
        if let (Some(n), true) = (self.note, with_note) {
            s += &format!("NOTE:n{n}\r\n");
        }
        s + "END:VCARD\r\n"
    }

    /// A vCard 3.0 as another CardDAV client stores it.
    pub fn vcard30(&self) -> String {
        let mut s = format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:sim-{k}\r\nN:Fam{k};Giv{k};;;\r\nFN:Giv{k} Fam{k}\r\nTEL;TYPE=CELL:+4940{k:05}\r\n",
            k = self.k
        );
        for e in self.emails() {
            s += &format!("EMAIL;TYPE=INTERNET:e{e}@k{}.example\r\n", self.k);
        }
        if let Some(n) = self.note {
            s += &format!("NOTE:n{n}\r\n");
        }
        s + "END:VCARD\r\n"
    }
}

/// What a vCard (any version) says, or why it says nothing readable.
pub fn parse(text: &str) -> Result<Card, String> {
    let unfolded = text.replace("\r\n ", "").replace("\n ", "");
    let mut k = None;
    let mut emails: Vec<u32> = Vec::new();
    let mut note = None;
    for line in unfolded.lines() {
        let Some((head, value)) = line.split_once(':') else {
            continue;
        };
        let name = head.split(';').next().unwrap_or("").to_ascii_uppercase();
        let value = value.trim();
        match name.as_str() {
            "N" => {
                let fam = value.split(';').next().unwrap_or("");
                k = fam.strip_prefix("Fam").and_then(|n| n.parse::<u32>().ok());
            }
            "EMAIL" if !value.is_empty() => {
                let tag = value
                    .strip_prefix('e')
                    .and_then(|r| r.split('@').next())
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("unreadable e-mail address {value:?}: {text:?}"))?;
                if emails.contains(&tag) {
                    return Err(format!(
                        "e-mail address {value:?} twice in one card: {text:?}"
                    ));
                }
                emails.push(tag);
            }
            "NOTE" if !value.is_empty() => {
                note = value.strip_prefix('n').and_then(|n| n.parse().ok());
            }
            _ => {}
        }
    }
    if emails.len() > MORE_EMAILS + 1 {
        return Err(format!(
            "{} e-mail addresses in one card: {text:?}",
            emails.len()
        ));
    }
    let k = k.ok_or_else(|| format!("no readable name: {text:?}"))?;
    emails.sort_unstable();
    let mut card = Card::new(k, emails.pop(), note);
    for (slot, e) in card.more_emails.iter_mut().zip(emails) {
        *slot = Some(e);
    }
    Ok(card)
}

/// Who made a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    Phone(usize),
    Server,
}

#[derive(Debug, Clone)]
pub struct Write {
    pub k: u32,
    pub sets_email: bool,
    pub sets_note: bool,
    pub parents: BTreeSet<u32>,
    pub author: Author,
    /// Thrown away by its own author (a refresh from the server, a slow sync that
    /// cannot carry it): not owed to anyone.
    pub abandoned: bool,
    /// Sent, unconfirmed, and then deleted by its own author: it may or may not have
    /// reached the server, so it may explain an item still there but is owed to nobody.
    pub uncertain: bool,
}

#[derive(Debug, Clone)]
pub struct Deletion {
    pub k: u32,
    pub parents: BTreeSet<u32>,
    pub author: Author,
    pub abandoned: bool,
    /// Answered by a slow sync that sent the item again: the item may be back, but
    /// what the delete removed before that stays removed.
    pub revoked: bool,
    /// The last tag written before it: every write up to it came first.
    pub after: u32,
}

/// The log of everything anyone wrote.
#[derive(Debug, Default)]
pub struct Model {
    pub next_tag: u32,
    pub next_k: u32,
    /// By tag.
    pub writes: BTreeMap<u32, Write>,
    pub deletions: Vec<Deletion>,
}

impl Model {
    pub fn new_person(&mut self) -> u32 {
        self.next_k += 1;
        self.next_k
    }

    /// Logs a write and returns its tag.
    pub fn write(
        &mut self,
        k: u32,
        sets: (bool, bool),
        parents: BTreeSet<u32>,
        author: Author,
    ) -> u32 {
        self.next_tag += 1;
        self.writes.insert(
            self.next_tag,
            Write {
                k,
                sets_email: sets.0,
                sets_note: sets.1,
                parents,
                author,
                abandoned: false,
                uncertain: false,
            },
        );
        self.next_tag
    }

    /// Logs a delete; its index marks it for [`Model::abandon_deletion`].
    pub fn delete(&mut self, k: u32, parents: BTreeSet<u32>, author: Author) -> usize {
        self.deletions.push(Deletion {
            k,
            parents,
            author,
            abandoned: false,
            revoked: false,
            after: self.next_tag,
        });
        self.deletions.len() - 1
    }

    /// A phone's slow sync sends `card` again: the deletions of it it did not see are
    /// answered by keeping the item (nothing is deleted because of a slow sync).
    pub fn slow_resend(&mut self, card: &Card) {
        for d in self.deletions.iter_mut().filter(|d| d.k == card.k) {
            d.revoked = true;
        }
    }

    pub fn abandon_write(&mut self, tag: u32) {
        if let Some(w) = self.writes.get_mut(&tag) {
            w.abandoned = true;
        }
    }

    pub fn make_uncertain(&mut self, tag: u32) {
        if let Some(w) = self.writes.get_mut(&tag) {
            w.uncertain = true;
        }
    }

    /// Its author drops a delete it has not had acknowledged (a refresh, a slow sync):
    /// one it sent may have reached the server all the same.
    pub fn drop_deletion(&mut self, index: usize, sent: bool) {
        match self.deletions.get_mut(index) {
            Some(d) if sent => d.revoked = true,
            Some(d) => d.abandoned = true,
            None => {}
        }
    }

    pub fn abandon_deletion(&mut self, index: usize) {
        if let Some(d) = self.deletions.get_mut(index) {
            d.abandoned = true;
        }
    }

    /// `tags` and every write they descend from.
    fn ancestry(&self, tags: &BTreeSet<u32>) -> BTreeSet<u32> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<u32> = tags.iter().copied().collect();
        while let Some(t) = todo.pop() {
            if seen.insert(t) {
                if let Some(w) = self.writes.get(&t) {
                    todo.extend(w.parents.iter().copied());
                }
            }
        }
        seen
    }

    fn concurrent(&self, a: u32, b: u32) -> bool {
        a != b
            && !self.ancestry(&BTreeSet::from([a])).contains(&b)
            && !self.ancestry(&BTreeSet::from([b])).contains(&a)
    }

    /// Every person someone created (and did not abandon).
    pub fn people(&self) -> BTreeSet<u32> {
        self.writes
            .values()
            .filter(|w| !w.abandoned)
            .map(|w| w.k)
            .collect()
    }

    /// Judges the server's final copy of person `k` (None: it is gone).
    pub fn judge(&self, k: u32, fin: Option<&Card>) -> Result<(), String> {
        let writes: Vec<(u32, &Write)> = self
            .writes
            .iter()
            .filter(|(_, w)| w.k == k && !w.abandoned)
            .map(|(t, w)| (*t, w))
            .collect();
        let deletions: Vec<&Deletion> = self
            .deletions
            .iter()
            .filter(|d| d.k == k && !d.abandoned && !d.revoked)
            .collect();
        let deleted_ever = self.deletions.iter().any(|d| d.k == k);
        let Some(card) = fin else {
            if !deleted_ever && writes.iter().any(|(_, w)| !w.uncertain) {
                return Err(format!(
                    "person {k} is gone from the server though nobody deleted it"
                ));
            }
            return Ok(());
        };
        for d in &deletions {
            let seen = self.ancestry(&d.parents);
            if writes.iter().all(|(t, _)| seen.contains(t)) {
                return Err(format!(
                    "person {k} is back on the server though {:?} deleted it after every write",
                    d.author
                ));
            }
        }
        self.judge_field(k, "e-mail", &card.emails(), &writes, |w| w.sets_email)?;
        let note: Vec<u32> = card.note.into_iter().collect();
        self.judge_field(k, "note", &note, &writes, |w| w.sets_note)
    }

    /// Write `t` of person `k` came before a delete of the item, and no write after that
    /// delete that carries the field (`sets`) descends from it: the item the delete
    /// removed took it along, fields its author could not hold included, and whoever
    /// made the item again never had it (a phone that cannot hold the field re-creates
    /// the item without it, whatever else it saw).
    fn deleted_before_seen(&self, k: u32, t: u32, sets: &impl Fn(&Write) -> bool) -> bool {
        self.deletions
            .iter()
            .filter(|d| d.k == k && !d.abandoned && t <= d.after)
            .any(|d| {
                let later: BTreeSet<u32> = self
                    .writes
                    .iter()
                    .filter(|(o, w)| **o > d.after && w.k == k && !w.abandoned && sets(w))
                    .map(|(o, _)| *o)
                    .collect();
                !self.ancestry(&later).contains(&t)
            })
    }

    fn judge_field(
        &self,
        k: u32,
        field: &str,
        fin: &[u32],
        writes: &[(u32, &Write)],
        sets: impl Fn(&Write) -> bool,
    ) -> Result<(), String> {
        for &f in fin {
            match self.writes.get(&f) {
                Some(w) if w.k == k && sets(w) => {}
                _ => {
                    return Err(format!(
                        "person {k}'s {field} is tag {f}, which no write of person {k} set (items merged?)"
                    ))
                }
            }
        }
        // Every value the copy holds keeps what its writer had seen (a slow sync's union
        // holds several).
        let kept = (!fin.is_empty()).then(|| self.ancestry(&fin.iter().copied().collect()));
        // A delete supersedes what its author had seen, whoever re-created the item.
        let mut deleted = BTreeSet::new();
        for d in self.deletions.iter().filter(|d| d.k == k) {
            deleted.extend(self.ancestry(&d.parents));
        }
        for (t, w) in writes.iter().filter(|(t, w)| {
            sets(w)
                && !w.uncertain
                && !deleted.contains(t)
                && !self.deleted_before_seen(k, *t, &sets)
        }) {
            let Some(kept) = &kept else {
                // Outvoted by a concurrent write that a delete then superseded: the
                // deleter saw the value that had won, and this one was no longer there.
                let lost_to_deleted = writes
                    .iter()
                    .any(|(o, ow)| sets(ow) && deleted.contains(o) && self.concurrent(*t, *o));
                if lost_to_deleted {
                    continue;
                }
                return Err(format!(
                    "person {k}'s {field} from write {t} ({:?}) is gone and nothing replaced it",
                    w.author
                ));
            };
            if kept.contains(t) {
                continue;
            }
            let outvoted = kept.iter().any(|o| {
                self.writes.get(o).is_some_and(|ow| ow.k == k && sets(ow))
                    && self.concurrent(*t, *o)
            });
            if !outvoted {
                return Err(format!(
                    "person {k}'s {field} from write {t} ({:?}) was lost: the server holds the older tag {:?}",
                    w.author, fin
                ));
            }
        }
        Ok(())
    }
}
