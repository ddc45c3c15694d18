//! Arrow-layout column builders: values, offsets and validity bitmaps, handed to Python as
//! NumPy arrays that pyarrow wraps without copying.

#[derive(Default)]
pub struct Bitmap {
    pub bytes: Vec<u8>,
    len: usize,
    pub nulls: usize,
}

impl Bitmap {
    pub fn with_capacity(n: usize) -> Bitmap {
        Bitmap {
            bytes: Vec::with_capacity(n / 8 + 1),
            len: 0,
            nulls: 0,
        }
    }

    pub fn get(&self, i: usize) -> bool {
        self.bytes[i / 8] & (1 << (i % 8)) != 0
    }

    /// Mark an entry that was null valid.
    pub fn set(&mut self, i: usize) {
        if !self.get(i) {
            self.bytes[i / 8] |= 1 << (i % 8);
            self.nulls -= 1;
        }
    }

    pub fn push(&mut self, valid: bool) {
        #[allow(clippy::manual_is_multiple_of)] // (is_multiple_of: Rust 1.87)
        if self.len % 8 == 0 {
            self.bytes.push(0);
        }
        if valid {
            *self.bytes.last_mut().expect("pushed above") |= 1 << (self.len % 8);
        } else {
            self.nulls += 1;
        }
        self.len += 1;
    }
}

pub struct Strings {
    pub offsets: Vec<i32>,
    pub data: Vec<u8>,
    pub valid: Bitmap,
}

impl Strings {
    pub fn with_capacity(rows: usize) -> Strings {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Strings {
            offsets,
            data: Vec::new(),
            valid: Bitmap::with_capacity(rows),
        }
    }

    pub fn push(&mut self, value: Option<&[u8]>) {
        if let Some(v) = value {
            self.data.extend_from_slice(v);
        }
        // a block is at most a few MiB (sources read 4 MiB blocks; MAX_LINE is 1 MiB)
        self.offsets
            .push(i32::try_from(self.data.len()).expect("block under 2 GiB"));
        self.valid.push(value.is_some());
    }
}

pub struct Numbers<T> {
    pub values: Vec<T>,
    pub valid: Bitmap,
}

impl<T: Default> Numbers<T> {
    pub fn with_capacity(rows: usize) -> Numbers<T> {
        Numbers {
            values: Vec::with_capacity(rows),
            valid: Bitmap::with_capacity(rows),
        }
    }

    pub fn push(&mut self, value: Option<T>) {
        self.valid.push(value.is_some());
        self.values.push(value.unwrap_or_default());
    }
}

impl<T: Copy + PartialOrd> Numbers<T> {
    /// Keep the smaller of the entry and `value` (a null entry takes `value`).
    pub fn set_min(&mut self, i: usize, value: T) {
        if !self.valid.get(i) || value < self.values[i] {
            self.values[i] = value;
            self.valid.set(i);
        }
    }

    /// Keep the larger of the entry and `value` (a null entry takes `value`).
    pub fn set_max(&mut self, i: usize, value: T) {
        if !self.valid.get(i) || value > self.values[i] {
            self.values[i] = value;
            self.valid.set(i);
        }
    }
}

/// The last CLF timestamp read and its value: consecutive lines mostly share their second.
#[derive(Default)]
pub struct ClfCache {
    last: Vec<u8>,
    value: Option<i64>,
}

impl ClfCache {
    /// Microseconds since the epoch of `inner` (the 26 bytes of a CLF timestamp; `text` the
    /// whole field), or None when only Arrow's strptime can judge it.
    pub fn micros(&mut self, text: &[u8], inner: &[u8]) -> Option<i64> {
        if text != self.last.as_slice() {
            self.last.clear();
            self.last.extend_from_slice(text);
            self.value = crate::text::clf_seconds(inner).map(|s| s * 1_000_000);
        }
        self.value
    }
}

/// Timestamps in microseconds; the rows whose text only Arrow's strptime can judge are listed
/// with that text, and settled by the caller.
pub struct Times {
    pub micros: Numbers<i64>,
    pub unsure_rows: Vec<i64>,
    pub unsure_text: Strings,
    cache: ClfCache,
}

impl Times {
    pub fn with_capacity(rows: usize) -> Times {
        Times {
            micros: Numbers::with_capacity(rows),
            unsure_rows: Vec::new(),
            unsure_text: Strings::with_capacity(0),
            cache: ClfCache::default(),
        }
    }

    /// A conditional timestamp that was not written ("-"): null, and not a bad time.
    pub fn push_null(&mut self) {
        self.micros.push(None);
    }

    /// `text`: the whole field (brackets included), `inner`: the 26 bytes of the timestamp.
    pub fn push(&mut self, text: &[u8], inner: &[u8]) {
        let value = self.cache.micros(text, inner);
        if value.is_none() {
            self.unsure_rows.push(self.micros.values.len() as i64);
            self.unsure_text.push(Some(text));
        }
        self.micros.push(value);
    }
}
