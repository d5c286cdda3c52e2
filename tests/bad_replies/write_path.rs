//! The write path of the catalogue: a real `WriteSession` against miners
//! whose password, encryption or write switch is wrong. Each failure must
//! carry the exact reason, arrive in time, leave a healthy miner's write
//! working, and never show the password.

use super::*;

/// Runs a harmless write on the faulty miner and on a healthy one.
async fn write_with(fault: Fault, password: &str) -> Result<Value, MinerError> {
    let fleet = start_fleet(Some(fault)).await;
    let client = Client::new(client_config());
    let faulty = client.v2_session(
        MinerAddr::from_socket_addr(fleet.addrs()[FAULTY]),
        Secret::new(password),
    );
    let healthy = client.v2_session(
        MinerAddr::from_socket_addr(fleet.addrs()[0]),
        Secret::new(PASSWORD),
    );
    let no_params = Map::new();
    let started = Instant::now();
    let (bad, good) = tokio::join!(
        faulty.exec("set_normal_power", &no_params),
        healthy.exec("set_normal_power", &no_params)
    );
    assert!(
        started.elapsed() <= BUDGET + SLACK,
        "{:?}",
        started.elapsed()
    );
    assert!(good.is_ok(), "healthy miner: {good:?}");
    bad
}

fn assert_write_error(result: Result<Value, MinerError>, reason: &str, password: &str) {
    let err = result.expect_err("the faulty write must fail");
    assert_eq!(err.reason(), reason, "{err}");
    assert_eq!(err.command, "set_normal_power");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(password), "secret leaked: {text}");
    }
}

#[tokio::test]
async fn write_with_the_wrong_password_says_so() {
    let password = "not-the-password-7f3a";
    let fleet = start_fleet(None).await;
    let session = Client::new(client_config()).v2_session(
        MinerAddr::from_socket_addr(fleet.addrs()[FAULTY]),
        Secret::new(password),
    );
    let result = session.exec("set_normal_power", &Map::new()).await;
    assert_write_error(result, "wrong_password", password);
    // The simulator's own fault: the miner's password differs from ours.
    assert_write_error(
        write_with(Fault::WrongPassword, PASSWORD).await,
        "wrong_password",
        PASSWORD,
    );
}

#[tokio::test]
async fn garbled_and_wrong_key_encrypted_replies_fail_to_decrypt() {
    // GarbledEncrypted alternates broken base64 and partial blocks.
    for _ in 0..2 {
        let result = write_with(Fault::GarbledEncrypted, PASSWORD).await;
        assert_write_error(result, "decrypt_failed", PASSWORD);
    }
    let result = write_with(Fault::WrongKeyEncrypted, PASSWORD).await;
    assert_write_error(result, "decrypt_failed", PASSWORD);
}

#[tokio::test]
async fn write_disabled_is_write_api_disabled() {
    let result = write_with(Fault::WriteDisabled, PASSWORD).await;
    assert_write_error(result, "write_api_disabled", PASSWORD);
}

/// Under a wrong key, about one reply in 6,000 decrypts to a lone digit
/// before a NUL: valid JSON, but no reply. It must count as a decryption
/// failure, not as a miner reply of an odd shape.
#[tokio::test]
async fn a_decrypted_reply_that_is_not_an_object_is_a_decrypt_failure() {
    let challenge = TokenChallenge {
        time: "1234".into(),
        salt: "BQ5hoXV9".into(),
        newsalt: "YcSOgJTn".into(),
    };
    let token = br#"{"STATUS":"S","When":1,"Code":134,"Msg":{"time":"1234","salt":"BQ5hoXV9","newsalt":"YcSOgJTn"},"Description":""}"#;
    let key = Credentials::derive(&Secret::new(PASSWORD), &challenge).expect("derive");
    let lone_digit = format!("{{\"enc\":\"{}\"}}", encrypt_base64(key.aes_key(), b"5"));
    let addr = fake_miner(vec![token.to_vec(), lone_digit.into_bytes()]).await;
    let session = Client::new(client_config())
        .v2_session(MinerAddr::from_socket_addr(addr), Secret::new(PASSWORD));
    let result = session.exec("set_normal_power", &Map::new()).await;
    assert_write_error(result, "decrypt_failed", PASSWORD);
}
