//! Reading a fixed region of the frame: a digit string (CTC) or one character (classifier).
//! A reading becomes a decision only when it is the same for `stable_frames` frames in a row,
//! and only once until the region shows something else.

use lookout_vision::model::Reading;

#[derive(Debug)]
pub struct Stability {
    needed: usize,
    current: Option<String>,
    run: usize,
    decided: Option<String>,
}

impl Stability {
    pub fn new(needed: usize) -> Stability {
        Stability { needed: needed.max(1), current: None, run: 0, decided: None }
    }

    /// Feeds one frame's reading (`None`: nothing legible). Returns the text when it has just
    /// become stable and differs from the last decided one.
    pub fn feed(&mut self, reading: Option<&Reading>) -> bool {
        let text = reading.map(|r| r.text.clone());
        if text == self.current {
            self.run += 1;
        } else {
            self.current = text;
            self.run = 1;
        }
        if self.run < self.needed {
            return false;
        }
        if self.current.is_none() {
            // A stably empty region ends the sighting: the same text later is news again.
            self.decided = None;
            return false;
        }
        if self.current != self.decided {
            self.decided = self.current.clone();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> Reading {
        Reading { text: text.into(), confidence: 0.9, alternatives: Vec::new() }
    }

    #[test]
    fn stable_readings_decide_once() {
        let mut s = Stability::new(3);
        let seq = ["41726", "41726", "4172", "41726", "41726", "41726", "41726", "41726"];
        let decided: Vec<usize> =
            seq.iter().enumerate().filter(|(_, t)| s.feed(Some(&r(t)))).map(|(i, _)| i).collect();
        assert_eq!(decided, vec![5]);
    }

    #[test]
    fn the_same_text_after_a_blank_spell_decides_again() {
        let mut s = Stability::new(2);
        let mut decided = 0;
        for reading in
            [Some("7"), Some("7"), None, None, Some("7"), Some("7"), Some("8"), Some("8")]
        {
            decided += s.feed(reading.map(r).as_ref()) as usize;
        }
        assert_eq!(decided, 3);
    }
}
