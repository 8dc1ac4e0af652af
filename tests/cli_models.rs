//! `lookout classify` and `lookout recognize` with the shipped models on fixture images
//! (tests/fixtures/recognize/README.md says how they were made).

mod common;

use common::root;
use std::path::PathBuf;
use std::process::Output;

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/recognize").join(name)
}

fn model(name: &str) -> PathBuf {
    root().join("models").join(name)
}

fn lookout(args: &[&str], files: &[PathBuf]) -> Output {
    common::lookout().args(args).args(files).output().unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn classify_prints_the_top_labels_of_each_face() {
    let face = model("face.onnx");
    let me = root().join("models/face-data/me/astronaut_00.png");
    let other = root().join("models/face-data/other/lfw_000.png");
    let out = stdout(&lookout(&["classify", "--top", "2", "--model"], &[face.clone(), me, other]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].ends_with("astronaut_00.png: me 0.999, other 0.001"), "{out}");
    assert!(lines[1].contains("lfw_000.png: other "), "{out}");

    let me = root().join("models/face-data/me/astronaut_01.png");
    let json = stdout(&lookout(&["classify", "--json", "--model"], &[face, me]));
    let value: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(value["top"][0][0], "me");
    assert_eq!(value["top"].as_array().unwrap().len(), 2, "only two labels exist");
}

#[test]
fn recognize_reads_digit_strings_with_greedy_and_beam_decoding() {
    let files: Vec<PathBuf> =
        ["digits_41726.png", "digits_5286037388.png", "digits_7.png"].map(fixture).to_vec();
    let args = |beam: &str| {
        lookout(
            &["recognize", "--json", "--beam", beam, "--model"],
            &[&[model("digits.onnx")], files.as_slice()].concat(),
        )
    };
    for beam in ["1", "8"] {
        let out = stdout(&args(beam));
        let texts: Vec<String> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(texts, ["41726", "5286037388", "7"], "beam {beam}");
    }
}

#[test]
fn recognize_reads_characters_in_a_font_the_model_never_saw() {
    let files: Vec<PathBuf> =
        ["hanzi_yong.png", "hanzi_zhong.png", "hanzi_guo.png"].map(fixture).to_vec();
    let out = stdout(&lookout(
        &["recognize", "--model"],
        &[&[model("hanzi.onnx")], files.as_slice()].concat(),
    ));
    let read: Vec<&str> =
        out.lines().map(|l| l.rsplit(": ").next().unwrap().split(' ').next().unwrap()).collect();
    assert_eq!(read, ["永", "中", "国"], "{out}");
}

#[test]
fn a_model_of_the_wrong_kind_is_refused() {
    let output =
        lookout(&["classify", "--model"], &[model("digits.onnx"), fixture("digits_7.png")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("digits.onnx: is a Ctc model, this command needs a Classify model"),
        "{stderr}"
    );
}

#[test]
fn an_unreadable_image_is_reported_and_the_rest_still_run() {
    let dir = std::env::temp_dir().join(format!("lookout-cli-models-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.png");
    std::fs::write(&broken, b"not a png").unwrap();
    let output = lookout(
        &["recognize", "--model"],
        &[model("digits.onnx"), broken, fixture("digits_7.png")],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("broken.png: cannot decode image"));
    assert!(String::from_utf8_lossy(&output.stdout).contains("digits_7.png: 7 ("));
}
