use super::*;

#[test]
fn nofile_limit_is_at_least_the_usual_default() {
    if cfg!(unix) {
        assert!(raise_nofile_limit().expect("limit") >= 256);
    }
}
