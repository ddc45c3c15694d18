//! What a Summary counts of a block's ordinary rows, counted during the scan (see
//! analyzer/parse/native.py, and analyzer/summary/parts.py for the parts): the requests by
//! (vhost, method, protocol, status) with their count, first and last time, and first line with
//! its target; and the requests per minute. Rows of a class (a 501, 405 or 505 status) and rows
//! whose timestamp only Arrow's strptime can judge are built as columns instead, for the parts
//! that keep such rows' values.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::columns::{Numbers, Strings};

/// The fields a Summary reads, by their index among the format's fields.
pub struct Counting {
    pub vhost: Option<usize>,
    pub status: Option<usize>,
    pub request: Option<usize>,
    pub time: Option<usize>,
    /// statuses whose rows are built, not counted
    pub classed: Vec<i16>,
}

/// A multiplicative hash over 8-byte words (the keys are short and not chosen to collide
/// with each other in a way that matters: a block has at most a few MiB of lines).
#[derive(Default)]
pub struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// The groups of one block, one row each, in the order first seen.
pub struct Groups {
    index: FxMap<Vec<u8>, u32>,
    key: Vec<u8>,
    pub vhost: Strings,
    pub method: Strings,
    pub protocol: Strings,
    pub status: Numbers<i16>,
    pub count: Vec<i64>,
    pub first: Numbers<i64>,
    pub last: Numbers<i64>,
    /// the block row of the group's first line, and that line's target
    pub row: Vec<i64>,
    pub target: Strings,
    minutes: FxMap<i64, u32>,
    pub minute: Vec<i64>,
    pub minute_count: Vec<i64>,
    /// the last row's key, group and minute: neighbouring lines mostly share them
    last_key: Vec<u8>,
    last_group: usize,
    last_minute: Option<(i64, usize)>,
}

const MINUTE_US: i64 = 60_000_000;

fn key_part(key: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(v) => {
            key.extend_from_slice(&(v.len() as u32).to_le_bytes());
            key.extend_from_slice(v);
        }
        None => key.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

impl Groups {
    pub fn new() -> Groups {
        Groups {
            index: FxMap::default(),
            key: Vec::new(),
            vhost: Strings::with_capacity(0),
            method: Strings::with_capacity(0),
            protocol: Strings::with_capacity(0),
            status: Numbers::with_capacity(0),
            count: Vec::new(),
            first: Numbers::with_capacity(0),
            last: Numbers::with_capacity(0),
            row: Vec::new(),
            target: Strings::with_capacity(0),
            minutes: FxMap::default(),
            minute: Vec::new(),
            minute_count: Vec::new(),
            last_key: Vec::new(),
            last_group: usize::MAX,
            last_minute: None,
        }
    }

    /// The group of the key in `self.key`, made when new.
    #[allow(clippy::too_many_arguments)]
    fn group_of_key(
        &mut self,
        vhost: Option<&[u8]>,
        method: Option<&[u8]>,
        protocol: Option<&[u8]>,
        status: Option<i16>,
        row: usize,
        target: Option<&[u8]>,
    ) -> usize {
        if let Some(&g) = self.index.get(self.key.as_slice()) {
            return g as usize;
        }
        let g = self.count.len();
        self.index.insert(self.key.clone(), g as u32);
        self.vhost.push(vhost);
        self.method.push(method);
        self.protocol.push(protocol);
        self.status.push(status);
        self.count.push(0);
        self.first.push(None);
        self.last.push(None);
        self.row.push(row as i64);
        self.target.push(target);
        g
    }

    /// Count one row (`row`: its index in the block; `time`: microseconds, None when not
    /// logged or "-").
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        row: usize,
        vhost: Option<&[u8]>,
        method: Option<&[u8]>,
        protocol: Option<&[u8]>,
        status: Option<i16>,
        target: Option<&[u8]>,
        time: Option<i64>,
    ) {
        self.key.clear();
        key_part(&mut self.key, vhost);
        key_part(&mut self.key, method);
        key_part(&mut self.key, protocol);
        match status {
            Some(s) => {
                self.key.push(1);
                self.key.extend_from_slice(&s.to_le_bytes());
            }
            None => self.key.push(0),
        }
        let group = if self.last_group != usize::MAX && self.key == self.last_key {
            self.last_group
        } else {
            self.group_of_key(vhost, method, protocol, status, row, target)
        };
        if group != self.last_group {
            std::mem::swap(&mut self.key, &mut self.last_key);
            self.last_group = group;
        }
        self.count[group] += 1;
        if let Some(t) = time {
            self.first.set_min(group, t);
            self.last.set_max(group, t);
            let minute = t.div_euclid(MINUTE_US) * MINUTE_US;
            let m = match self.last_minute {
                Some((known, m)) if known == minute => m,
                _ => {
                    let next = self.minute.len() as u32;
                    let m = *self.minutes.entry(minute).or_insert(next) as usize;
                    if m == self.minute.len() {
                        self.minute.push(minute);
                        self.minute_count.push(0);
                    }
                    self.last_minute = Some((minute, m));
                    m
                }
            };
            self.minute_count[m] += 1;
        }
    }
}
