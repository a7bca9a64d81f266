//! The one plist parser: a shape check before `plist::Value::from_reader`, so that no plist can
//! crash or blow up the daemon. The `plist` crate builds values recursively (an XML plist of
//! 40,000 nested `<dict>`s or a binary plist of 50,000 nested arrays overflows the stack and
//! aborts the process) and expands a binary plist's shared object references into copies (30
//! arrays each holding the next one twice are 2^30 values). This module refuses nesting deeper
//! than `MAX_DEPTH` and a binary plist that expands past `MAX_VALUES`, in time linear in the
//! input (no recursion), with a message the caller reports as its finding. It only parses bytes
//! it is given: it never reads files (callers read through `crate::read`) and never judges what
//! the plist says.

/// Deepest nesting of arrays and dictionaries accepted (a launchd job plist nests 3 or 4 levels).
pub const MAX_DEPTH: usize = 128;
/// Most values a binary plist may expand to once its shared references are copied.
pub const MAX_VALUES: u64 = 100_000;

/// Parses an XML or binary plist after checking its nesting (and, for a binary plist, its
/// expanded size). The error says why, e.g. "plist nesting deeper than 128 levels; not parsed".
pub fn parse(bytes: &[u8]) -> Result<plist::Value, String> {
    shape(bytes)?;
    plist::Value::from_reader(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())
}

/// The shape check alone, for callers that report a refused shape (not judged) apart from a
/// plist that does not parse.
pub fn shape(bytes: &[u8]) -> Result<(), String> {
    if bytes.starts_with(b"bplist") {
        binary_shape(bytes)
    } else {
        xml_depth(bytes)
    }
}

fn too_deep() -> String {
    format!("plist nesting deeper than {MAX_DEPTH} levels; not parsed")
}

/// Counts open `<array>`/`<dict>` elements in one pass (self-closing ones do not nest). A tag
/// name inside a comment counts too: that can only over-count, never let a deep plist through.
fn xml_depth(bytes: &[u8]) -> Result<(), String> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(off) = bytes[i..].iter().position(|&b| b == b'<') {
        let tag = &bytes[i + off + 1..];
        let end = tag.iter().position(|&b| b == b'>').unwrap_or(tag.len());
        let body = &tag[..end];
        let opens = body.starts_with(b"array") || body.starts_with(b"dict");
        if opens && !body.ends_with(b"/") {
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(too_deep());
            }
        } else if body.starts_with(b"/array") || body.starts_with(b"/dict") {
            depth = depth.saturating_sub(1);
        }
        i += off + 1 + end;
    }
    Ok(())
}

/// A binary plist's object table, read just enough to follow references.
struct Bplist<'a> {
    b: &'a [u8],
    offset_size: usize,
    ref_size: usize,
    objects: usize,
    table: usize,
}

fn be_uint(b: &[u8]) -> Option<u64> {
    (b.len() <= 8).then(|| b.iter().fold(0u64, |n, &x| (n << 8) | u64::from(x)))
}

impl<'a> Bplist<'a> {
    /// The trailer's fields, or `None` when they are inconsistent (the crate then says why).
    fn new(b: &'a [u8]) -> Option<Self> {
        let t = b.get(b.len().checked_sub(32)?..)?;
        let (offset_size, ref_size) = (usize::from(t[6]), usize::from(t[7]));
        let objects = usize::try_from(be_uint(&t[8..16])?).ok()?;
        let table = usize::try_from(be_uint(&t[24..32])?).ok()?;
        let ok = (1..=8).contains(&offset_size)
            && (1..=8).contains(&ref_size)
            && objects
                .checked_mul(offset_size)
                .and_then(|n| n.checked_add(table))
                .is_some_and(|end| end <= b.len() - 32);
        ok.then_some(Bplist {
            b,
            offset_size,
            ref_size,
            objects,
            table,
        })
    }

    fn top(&self) -> Option<usize> {
        let t = &self.b[self.b.len() - 32..];
        usize::try_from(be_uint(&t[16..24])?).ok()
    }

    /// The objects an array, set or dictionary refers to (keys and values); none for a scalar.
    /// `None` when the object's bytes are out of range.
    fn children(&self, i: usize) -> Option<Vec<usize>> {
        let at = self.table + i * self.offset_size;
        let off = usize::try_from(be_uint(self.b.get(at..at + self.offset_size)?)?).ok()?;
        let marker = *self.b.get(off)?;
        let per = match marker >> 4 {
            0xA | 0xC => 1,
            0xD => 2,
            _ => return Some(Vec::new()),
        };
        let mut pos = off + 1;
        let mut count = usize::from(marker & 0xF);
        if count == 0xF {
            let m = *self.b.get(pos)?;
            if m >> 4 != 1 {
                return None;
            }
            let len = 1usize << (m & 0xF);
            count = usize::try_from(be_uint(self.b.get(pos + 1..pos + 1 + len)?)?).ok()?;
            pos += 1 + len;
        }
        let n = count.checked_mul(per)?;
        let refs = self
            .b
            .get(pos..pos.checked_add(n.checked_mul(self.ref_size)?)?)?;
        refs.chunks(self.ref_size)
            .map(|r| {
                usize::try_from(be_uint(r)?)
                    .ok()
                    .filter(|&c| c < self.objects)
            })
            .collect()
    }
}

/// Depth and expanded size of a binary plist's object graph, by an iterative post-order walk
/// that visits each object once (memoized), so shared references cost nothing to measure.
fn binary_shape(bytes: &[u8]) -> Result<(), String> {
    let Some(p) = Bplist::new(bytes) else {
        return Ok(());
    };
    let Some(top) = p.top().filter(|&t| t < p.objects) else {
        return Ok(());
    };
    // per object: None = not seen, Some(None) = on the path, Some(Some((depth, values))) = done
    let mut seen: Vec<Option<Option<(usize, u64)>>> = vec![None; p.objects];
    let mut stack: Vec<(usize, Vec<usize>, usize)> = Vec::new();
    let Some(kids) = p.children(top) else {
        return Ok(());
    };
    seen[top] = Some(None);
    stack.push((top, kids, 0));
    while let Some((node, kids, next)) = stack.last_mut() {
        if let Some(&c) = kids.get(*next) {
            *next += 1;
            match seen[c] {
                Some(Some(_)) => continue,
                // a cycle: the crate reports it ("RecursiveObject") without recursing forever
                Some(None) => return Ok(()),
                None => {}
            }
            if stack.len() >= MAX_DEPTH {
                return Err(too_deep());
            }
            let Some(k) = p.children(c) else {
                return Ok(());
            };
            seen[c] = Some(None);
            stack.push((c, k, 0));
            continue;
        }
        let (mut depth, mut values) = (0usize, 1u64);
        for &c in kids.iter() {
            if let Some(Some((d, v))) = seen[c] {
                depth = depth.max(d);
                values = values.saturating_add(v);
            }
        }
        if depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        if values > MAX_VALUES {
            return Err(format!(
                "binary plist expands to more than {MAX_VALUES} values (shared references); not parsed"
            ));
        }
        seen[*node] = Some(Some((depth + 1, values)));
        stack.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary plist of `n` objects where object i is an array of `fan` references to i+1.
    fn chain(n: usize, fan: usize) -> Vec<u8> {
        let mut body = b"bplist00".to_vec();
        let mut offs = Vec::new();
        for i in 0..n {
            offs.push(body.len());
            if i + 1 < n {
                body.push(0xA0 | u8::try_from(fan).unwrap());
                for _ in 0..fan {
                    body.extend_from_slice(&u32::try_from(i + 1).unwrap().to_be_bytes());
                }
            } else {
                body.push(0xA0);
            }
        }
        let table = body.len();
        for o in offs {
            body.extend_from_slice(&u32::try_from(o).unwrap().to_be_bytes());
        }
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 4, 4]);
        for v in [n as u64, 0, table as u64] {
            body.extend_from_slice(&v.to_be_bytes());
        }
        body
    }

    #[test]
    fn deep_or_exploding_plists_are_refused_without_recursion() {
        // 50,000 nested arrays overflowed the stack in plist::Value::from_reader
        let deep = chain(50_000, 1);
        assert!(parse(&deep).unwrap_err().contains("deeper than 128 levels"));
        // 40 levels of two references each: 2^40 values once copied
        let laughs = chain(40, 2);
        assert!(parse(&laughs).unwrap_err().contains("expands to more than"));
        // shallow and small: parsed
        assert!(matches!(parse(&chain(10, 2)), Ok(plist::Value::Array(_))));
        let xml = |n: usize| {
            format!(
                "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>a</key>{}<true/>{}</dict></plist>",
                "<dict><key>k</key>".repeat(n),
                "</dict>".repeat(n)
            )
        };
        assert!(
            parse(xml(40_000).as_bytes())
                .unwrap_err()
                .contains("deeper than")
        );
        assert!(matches!(
            parse(xml(5).as_bytes()),
            Ok(plist::Value::Dictionary(_))
        ));
        // self-closing and sibling containers do not nest
        let flat = format!(
            "<plist version=\"1.0\"><array>{}</array></plist>",
            "<array/><dict></dict>".repeat(1000)
        );
        assert!(parse(flat.as_bytes()).is_ok());
    }
}
