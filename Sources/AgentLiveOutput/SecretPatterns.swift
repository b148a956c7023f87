/// The shapes of secrets the Redactor knows (ICU regular expressions).
///
/// A megabyte of hostile output must cost linear time, not quadratic backtracking
/// (RedactorTests measures it): every repetition is bounded; a pattern starts at a
/// distinctive literal (a token's prefix, the word that names a secret), never
/// after a repetition; a repetition followed by a character it cannot match is
/// possessive (`{m,n}+`); and a token whose characters include `-` starts only
/// where no token character precedes it (`(?<![A-Za-z0-9_-])`), or a run like
/// `eyJ-eyJ-eyJ-…` would be scanned again from each of its starts. Single-line
/// contexts use `[ \t]`, not `\s`, so a flush that ends at a line break redacts
/// as the whole does.
enum SecretPatterns {
    /// Whole match is a secret.
    static let tokens = [
        // PEM private keys: the block up to its END line, or, when no END follows
        // (the output was cut), the header and every line of key material after it.
        #"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----(?:[A-Za-z0-9+/=\s:,.\\-]{0,65536}?-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|[A-Za-z0-9+/=\s:,.\\-]{0,65536})"#,
        #"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}"#,  // AWS access key ids
        #"\bgh[pousr]_[A-Za-z0-9]{30,255}"#,  // GitHub: ghp_ gho_ ghu_ ghs_ ghr_
        #"\bgithub_pat_[A-Za-z0-9_]{22,255}"#,
        #"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,255}"#,  // GitLab
        #"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,255}"#,  // Anthropic
        #"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,255}"#,  // OpenAI
        #"(?<![A-Za-z0-9_-])xox[abposre]-[A-Za-z0-9-]{10,255}"#,  // Slack bot, user, app… tokens
        #"(?<![A-Za-z0-9_-])xapp-[A-Za-z0-9-]{10,255}"#,  // Slack app-level tokens
        #"\bnpm_[A-Za-z0-9]{36,255}"#,  // npm
        #"\bhf_[A-Za-z0-9]{30,255}"#,  // Hugging Face
        #"(?<![A-Za-z0-9_-])pypi-AgE[A-Za-z0-9_-]{50,1024}"#,  // PyPI
        #"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}"#,  // Google API keys
        #"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,255}"#,  // Stripe
        #"\bwhsec_[A-Za-z0-9+/=]{24,255}"#,  // Stripe webhook secrets
        #"(?<![A-Za-z0-9_-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"#,  // SendGrid
        #"\bdop_v1_[a-f0-9]{64}"#,  // DigitalOcean
        #"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}"#,  // Shopify
        #"\bal[uds]_[0-9a-f]{32}_[0-9a-f]{48}"#,  // AgentLive's own tokens
        #"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,1024}+\.eyJ[A-Za-z0-9_-]{8,16384}+\.[A-Za-z0-9_-]{8,2048}+"#,  // JWTs
    ]

    /// Words that make a name a secret's, in assignments and flags.
    static let names = #"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth[_-]?key)"#
    /// A value: quoted (spaces allowed) or up to the next space, quote, comma or semicolon.
    static let value = #"(?:"[^"\n]{0,4096}"|'[^'\n]{0,4096}'|[^\s"',;]{1,4096})"#

    /// A context that stays (the pattern's first `kept` groups) and the secret
    /// after it, which goes.
    static let contexts: [(pattern: String, kept: Int)] = [
        // HTTP credentials: `Authorization: Bearer …`, `"Authorization": "Token …"`,
        // `Cookie: …`, `Set-Cookie: …` (the rest of the value, up to a quote or the line end).
        (#"(?i)\b((?:proxy-)?authorization["']?[ \t]{0,10}[:=][ \t]{0,10}["']?)([^\s"'][^\n\r"']{0,4095})"#, 1),
        (#"(?i)\b((?:set-)?cookie["']?[ \t]{0,10}:[ \t]{0,10}["']?)([^\s"'][^\n\r"']{0,4095})"#, 1),
        // A bearer token anywhere (`curl -H "…Bearer $TOKEN"` has no digit: not a secret).
        (#"(?i)\b(bearer[ \t]{1,10})(?=[A-Za-z._~+/=-]{0,4096}[0-9])([A-Za-z0-9._~+/=-]{8,4096})"#, 1),
        // `password=…`, `export API_KEY=…`, `"api_key": "…"`: a colon counts only
        // before a quoted value, so `token: String` in code stays.
        // The name is matched from its secret word on: what precedes it stays anyway.
        (#"(?i)("# + names + #"[A-Za-z0-9_.-]{0,40}+)(["']?[ \t]{0,10}=[ \t]{0,10}|["']?[ \t]{0,10}:[ \t]{0,10}(?=["']))"# + value, 2),
        // YAML and config files: `password: hunter2` at the start of a line.
        (#"(?im)^([ \t]{0,40}[A-Za-z0-9_.-]{0,40}(?:password|passwd|passphrase|secret)[A-Za-z0-9_.-]{0,40}[ \t]{0,10}:[ \t]{1,10})([^\s#"'][^\n]{0,4095})"#, 1),
        // Command-line flags: `--password x`, `--password=x`, `--db-password x`,
        // `--api-key "x"`, `--cookie x` (a value that is not the next flag), after no
        // word character: a flag, not `auth-token expires` in prose.
        (#"(?im)((?:^|[^A-Za-z0-9_-])--?(?:[A-Za-z0-9]{1,20}+-){0,3}(?:password|passwd|passphrase|token|secret|api-?key|access-?key|private-?key|credentials?|cookie)[A-Za-z0-9-]{0,30}+)(=|[ \t]{1,10})(?:"[^"\n]{0,4096}"|'[^'\n]{0,4096}'|[^\s"'-][^\s"']{0,4095})"#, 2),
        // `curl -u user:password`, `--user user:password`: the user stays.
        (#"([ \t](?:-u|--user)(?:[ \t]{1,10}|=)["']?[^\s:"']{1,200}+:)([^\s"']{1,4096})"#, 1),
        // MySQL-style `-pSECRET` right after the flag, and `sshpass -p SECRET`.
        (#"\b((?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mysqlsh|mariadb|mariadb-dump)\b[^\n|;&]{0,200}?[ \t]-p)([^\s"']{1,4096}|"[^"\n]{0,4096}"|'[^'\n]{0,4096}')"#, 1),
        (#"\b(sshpass[ \t]{1,10}-p[ \t]{0,10})([^\s]{1,4096})"#, 1),
        // `scheme://user:password@host`: the password goes.
        (#"(?i)([a-z][a-z0-9+.-]{0,15}+://)([^/\s:@]{1,100}+:)([^@\s/]{1,200}+)(?=@)"#, 2),
    ]

    /// JSON keys whose value is a secret: exact names, and parts of names (both
    /// lowercased, without `_`, `-` or other punctuation).
    static let secretKeyNames: Set<String> = ["pwd", "pass", "passwd", "auth", "pin"]
    static let secretKeyParts = [
        "password", "passphrase", "secret", "apikey", "accesskey", "privatekey", "authorization",
        "cookie", "credential", "sessionid",
    ]
}
