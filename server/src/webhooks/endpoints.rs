//! Where events go: the file `ITF_WEBHOOKS_FILE` names, one endpoint per
//! line as `<name> <url> <whsec_secret> [<whsec_secret> ...]`; `#` starts a
//! comment. It is a file because it holds secrets. During a secret's
//! rotation a line carries the old and the new secret, and every delivery
//! is signed with both.

use std::path::Path;

use super::signature::Secret;

#[derive(Debug, Clone)]
pub struct Endpoint {
    /// How deliveries, metrics, alerts and the console name it.
    pub name: String,
    pub url: reqwest::Url,
    pub secrets: Vec<Secret>,
}

#[derive(Debug, thiserror::Error)]
#[error("ITF_WEBHOOKS_FILE ({path}): {problem}")]
pub struct EndpointsError {
    path: String,
    problem: String,
}

/// The endpoints of the file at `path`.
pub fn load(path: &Path) -> Result<Vec<Endpoint>, EndpointsError> {
    let error = |problem: String| EndpointsError {
        path: path.display().to_string(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|io| {
        error(format!(
            "cannot be read: {io}; check the path and its access"
        ))
    })?;
    parse(&text).map_err(error)
}

/// The endpoints of the file's text; the first problem names its line.
pub fn parse(text: &str) -> Result<Vec<Endpoint>, String> {
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let endpoint =
            endpoint(line).map_err(|problem| format!("line {}: {problem}", number + 1))?;
        if endpoints.iter().any(|known| known.name == endpoint.name) {
            return Err(format!(
                "line {}: the name {} is used twice; give each endpoint its own",
                number + 1,
                endpoint.name
            ));
        }
        endpoints.push(endpoint);
    }
    Ok(endpoints)
}

fn endpoint(line: &str) -> Result<Endpoint, String> {
    const FORM: &str = "write `<name> <url> <whsec_secret> [<whsec_secret> ...]`";
    let mut words = line.split_whitespace();
    let (Some(name), Some(url)) = (words.next(), words.next()) else {
        return Err(FORM.to_owned());
    };
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "the name {name:?} is not accepted; use letters, digits, - and _"
        ));
    }
    let url = reqwest::Url::parse(url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| format!("the address of {name} is not an http or https URL"))?;
    let secrets: Option<Vec<Secret>> = words.map(Secret::parse).collect();
    match secrets {
        Some(secrets) if !secrets.is_empty() => Ok(Endpoint {
            name: name.to_owned(),
            url,
            secrets,
        }),
        Some(_) => Err(format!("{name} has no secret; {FORM}")),
        None => Err(format!(
            "a secret of {name} is not in the form whsec_<base64 of 24 to 64 bytes>"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn reads_endpoints_with_one_or_more_secrets_and_comments() {
        let text = format!(
            "# the 526 submission\nsubmission https://claims.va.gov/itf-events {SECRET}\n\n\
             audit http://127.0.0.1:9000/hook {SECRET} {SECRET} # rotating\n"
        );
        let endpoints = parse(&text).unwrap();
        assert_eq!(endpoints.len(), 2);
        assert_eq!(endpoints[0].name, "submission");
        assert_eq!(endpoints[1].url.as_str(), "http://127.0.0.1:9000/hook");
        assert_eq!(endpoints[1].secrets.len(), 2);
    }

    #[test]
    fn each_problem_names_its_line_and_what_to_write() {
        let cases = [
            ("submission", "line 1: write"),
            ("sub mission https://a.b", "line 1: the address of sub"),
            ("submission https://a.b", "line 1: submission has no secret"),
            (
                "submission https://a.b whsec_short",
                "line 1: a secret of submission",
            ),
            (
                "sub/mission https://a.b x",
                "line 1: the name \"sub/mission\"",
            ),
            (
                "submission ftp://a.b x",
                "line 1: the address of submission",
            ),
        ];
        for (text, expected) in cases {
            let problem = parse(text).err().unwrap_or_default();
            assert!(problem.starts_with(expected), "{text}: {problem}");
        }
        let twice = format!("a https://a.b {SECRET}\n# note\na https://c.d {SECRET}");
        assert!(parse(&twice)
            .unwrap_err()
            .starts_with("line 3: the name a is used twice"));
    }

    #[test]
    fn a_missing_file_is_named_with_its_setting() {
        let problem = load(Path::new("/nonexistent/webhooks"))
            .unwrap_err()
            .to_string();
        assert!(problem.starts_with("ITF_WEBHOOKS_FILE (/nonexistent/webhooks): cannot be read"));
    }
}
