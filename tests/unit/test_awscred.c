/*
 * Unit tests of pp_awscred: the environment and the shared credentials
 * file (profiles, comments, whitespace, errors), the chain's order, and a
 * metadata endpoint that does not answer failing fast. The instance role
 * against a fake IMDSv2 server is tested by tests/integration/test_awscred.sh.
 *
 * Each test starts from a clean environment: no AWS_* variable, HOME in a
 * fresh temporary directory, the instance metadata disabled (so that no
 * test asks 169.254.169.254).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pp_awscred.h"
#include "pp_check.h"

#define NOW INT64_C(1700000000)

static char home[64];

static void clean_env(void)
{
    static const char *const vars[] = {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_EC2_METADATA_DISABLED",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    };

    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    snprintf(home, sizeof home, "/tmp/pp_awscred_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(home));
    setenv("HOME", home, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

/* Removes what the test wrote under home (two levels at most). */
static void remove_home(void)
{
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    ck_assert_int_eq(system(cmd), 0);
}

/* Writes text to home/rel (creating home/.aws when rel is under it) and
 * returns the full path in path. */
static void write_file(const char *rel, const char *text, char *path, size_t path_len)
{
    FILE *f;

    snprintf(path, path_len, "%s/.aws", home);
    mkdir(path, 0700);
    snprintf(path, path_len, "%s/%s", home, rel);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* pp_awscred_get on a fresh provider; the caller destroys *out. */
static enum pp_err get(struct pp_awscred **out, struct pp_sigv4_creds *creds, char *msg,
                       size_t msg_len)
{
    ck_assert_int_eq(pp_awscred_new(out), PP_OK);
    return pp_awscred_get(*out, NOW, creds, msg, msg_len);
}

/* The chain must fail with want_err, a message containing want and not
 * containing secret. */
static void expect_error(enum pp_err want_err, const char *want, const char *secret)
{
    struct pp_awscred *cred;
    struct pp_sigv4_creds creds;
    char msg[512];
    enum pp_err err = get(&cred, &creds, msg, sizeof msg);

    ck_assert_msg(err == want_err, "got %s (%s), want %s", pp_err_str(err), msg,
                  pp_err_str(want_err));
    ck_assert_msg(strstr(msg, want) != NULL, "message \"%s\" lacks \"%s\"", msg, want);
    if (secret != NULL)
        ck_assert_msg(strstr(msg, secret) == NULL, "message \"%s\" shows the secret", msg);
    ck_assert_ptr_null(creds.access_key_id);
    ck_assert_int_eq(pp_awscred_source(cred), PP_AWSCRED_NONE);
    pp_awscred_destroy(cred);
}

/* The chain must give these credentials (token NULL: none). */
static void expect_creds(const char *key_id, const char *secret, const char *token)
{
    struct pp_awscred *cred;
    struct pp_sigv4_creds creds;
    char msg[512];
    enum pp_err err = get(&cred, &creds, msg, sizeof msg);

    ck_assert_msg(err == PP_OK, "got %s (%s)", pp_err_str(err), msg);
    ck_assert_str_eq(creds.access_key_id, key_id);
    ck_assert_str_eq(creds.secret_access_key, secret);
    if (token == NULL)
        ck_assert_ptr_null(creds.session_token);
    else
        ck_assert_str_eq(creds.session_token, token);
    pp_awscred_destroy(cred);
}

static const char profiles[] = "# a comment\n"
                               "; another comment\n"
                               "\n"
                               "[other]\n"
                               "aws_access_key_id = OTHERKEY\n"
                               "aws_secret_access_key = othersecret\n"
                               "\n"
                               "[ default ]\n"
                               "aws_access_key_id = SPACEDKEY\n"
                               "aws_secret_access_key = spaced\n"
                               "[default]  \r\n"
                               "   # an indented comment\n"
                               "AWS_Access_Key_ID=  DEFKEY  \r\n"
                               "aws_secret_access_key:def/secret+with=signs\n"
                               "region = eu-west-1\n"
                               "s3 =\n"
                               "    max_concurrent_requests = 10\n"
                               "\n"
                               "[withtoken]\n"
                               "aws_access_key_id = TOKKEY\n"
                               "aws_secret_access_key = toksecret\n"
                               "aws_session_token = tok en/with spaces\n"
                               "[keyonly]\n"
                               "aws_access_key_id = HALFKEY\n"
                               "[secretonly]\n"
                               "aws_secret_access_key = lonesecret\n"
                               "[nokeys]\n"
                               "region = us-east-1\n";

START_TEST(test_env)
{
    struct pp_awscred *cred;
    struct pp_sigv4_creds creds;
    char msg[256];

    clean_env();
    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    ck_assert_int_eq(get(&cred, &creds, msg, sizeof msg), PP_OK);
    ck_assert_str_eq(creds.access_key_id, "ENVKEY");
    ck_assert_str_eq(creds.secret_access_key, "envsecret");
    ck_assert_ptr_null(creds.session_token);
    ck_assert_int_eq(pp_awscred_source(cred), PP_AWSCRED_ENV);
    ck_assert_str_eq(pp_awscred_describe(cred), "environment");
    ck_assert_int_eq(pp_awscred_expiration(cred), 0);
    pp_awscred_destroy(cred);

    setenv("AWS_SESSION_TOKEN", "envtoken", 1);
    expect_creds("ENVKEY", "envsecret", "envtoken");
    remove_home();
}
END_TEST

START_TEST(test_env_partial)
{
    clean_env();
    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    expect_error(PP_ERR_USAGE, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not", NULL);
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    expect_error(PP_ERR_USAGE, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
                 "envsecret");
    /* Empty counts as unset. */
    setenv("AWS_ACCESS_KEY_ID", "", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "", 1);
    expect_error(PP_ERR_NOTFOUND, "AWS_ACCESS_KEY_ID is not set", NULL);
    remove_home();
}
END_TEST

START_TEST(test_env_before_file)
{
    char path[256];

    clean_env();
    write_file(".aws/credentials", profiles, path, sizeof path);
    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    expect_creds("ENVKEY", "envsecret", NULL);
    remove_home();
}
END_TEST

START_TEST(test_file_default_profile)
{
    struct pp_awscred *cred;
    struct pp_sigv4_creds creds;
    char path[256];
    char want[512];
    char msg[256];

    clean_env();
    write_file(".aws/credentials", profiles, path, sizeof path);
    ck_assert_int_eq(get(&cred, &creds, msg, sizeof msg), PP_OK);
    ck_assert_str_eq(creds.access_key_id, "DEFKEY");
    ck_assert_str_eq(creds.secret_access_key, "def/secret+with=signs");
    ck_assert_ptr_null(creds.session_token);
    ck_assert_int_eq(pp_awscred_source(cred), PP_AWSCRED_FILE);
    snprintf(want, sizeof want, "shared credentials file %s, profile default", path);
    ck_assert_str_eq(pp_awscred_describe(cred), want);
    ck_assert_str_eq(pp_awscred_source_name(pp_awscred_source(cred)), "shared credentials file");
    pp_awscred_destroy(cred);
    remove_home();
}
END_TEST

START_TEST(test_file_named_profile)
{
    struct pp_awscred *cred;
    struct pp_sigv4_creds creds;
    char path[256];
    char msg[256];

    clean_env();
    write_file(".aws/credentials", profiles, path, sizeof path);
    setenv("AWS_PROFILE", "withtoken", 1);
    expect_creds("TOKKEY", "toksecret", "tok en/with spaces");
    ck_assert_int_eq(get(&cred, &creds, msg, sizeof msg), PP_OK);
    ck_assert_ptr_nonnull(strstr(pp_awscred_describe(cred), "profile withtoken"));
    ck_assert_ptr_null(strstr(pp_awscred_describe(cred), "tok en"));
    pp_awscred_destroy(cred);
    setenv("AWS_PROFILE", "other", 1);
    expect_creds("OTHERKEY", "othersecret", NULL);
    remove_home();
}
END_TEST

START_TEST(test_file_profile_errors)
{
    char path[256];

    clean_env();
    write_file(".aws/credentials", profiles, path, sizeof path);
    /* Named and absent: a mistake. */
    setenv("AWS_PROFILE", "nosuch", 1);
    expect_error(PP_ERR_USAGE, "AWS_PROFILE: ", NULL);
    expect_error(PP_ERR_USAGE, "has no profile [nosuch]", NULL);
    setenv("AWS_PROFILE", "keyonly", 1);
    expect_error(PP_ERR_USAGE, "profile [keyonly]: aws_access_key_id without aws_secret_access_key",
                 NULL);
    setenv("AWS_PROFILE", "secretonly", 1);
    expect_error(PP_ERR_USAGE,
                 "profile [secretonly]: aws_secret_access_key without aws_access_key_id",
                 "lonesecret");
    /* A profile without keys is no source: the chain goes on. */
    setenv("AWS_PROFILE", "nokeys", 1);
    expect_error(PP_ERR_NOTFOUND, "profile [nokeys] has no aws_access_key_id", NULL);
    remove_home();
}
END_TEST

START_TEST(test_file_default_absent)
{
    char path[256];

    clean_env();
    write_file(".aws/credentials", "[other]\naws_access_key_id=A\naws_secret_access_key=B\n", path,
               sizeof path);
    expect_error(PP_ERR_NOTFOUND, "has no profile [default]", NULL);
    remove_home();
}
END_TEST

START_TEST(test_file_malformed)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"aws_access_key_id = A\n", "credentials:1: a key before the first [profile] section"},
        {"[default]\naws_access_key_id = A\njust words\n",
         "credentials:3: not a [section], key = value or comment"},
        {"[default\n", "credentials:1: a section header must be [name]"},
        {"[]\n", "credentials:1: a section header must be [name]"},
        {"[default]\n = value\n", "credentials:2: not a [section]"},
    };
    char path[256];

    clean_env();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(".aws/credentials", cases[i].text, path, sizeof path);
        expect_error(PP_ERR_USAGE, cases[i].want, NULL);
    }
    remove_home();
}
END_TEST

START_TEST(test_file_from_variable)
{
    char path[256];

    clean_env();
    write_file("elsewhere.ini", "[default]\naws_access_key_id=VARKEY\naws_secret_access_key=S\n",
               path, sizeof path);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    expect_creds("VARKEY", "S", NULL);
    /* "~/" is the home directory. */
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere.ini", 1);
    expect_creds("VARKEY", "S", NULL);
    /* Named and absent: a mistake. */
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/nosuch.ini", 1);
    expect_error(PP_ERR_USAGE, "AWS_SHARED_CREDENTIALS_FILE: ", NULL);
    expect_error(PP_ERR_USAGE, "/nosuch.ini does not exist", NULL);
    remove_home();
}
END_TEST

START_TEST(test_nothing_found)
{
    clean_env();
    expect_error(PP_ERR_NOTFOUND, "no AWS credentials: AWS_ACCESS_KEY_ID is not set; ", NULL);
    expect_error(PP_ERR_NOTFOUND,
                 "/.aws/credentials does not exist; AWS_EC2_METADATA_DISABLED=true", NULL);
    unsetenv("HOME");
    expect_error(PP_ERR_NOTFOUND, "HOME is not set", NULL);
    setenv("HOME", home, 1);
    remove_home();
}
END_TEST

START_TEST(test_kept_until_invalidated)
{
    struct pp_awscred *cred;
    struct pp_sigv4_creds creds;
    char msg[256];

    clean_env();
    setenv("AWS_ACCESS_KEY_ID", "FIRST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s1", 1);
    ck_assert_int_eq(get(&cred, &creds, msg, sizeof msg), PP_OK);
    setenv("AWS_ACCESS_KEY_ID", "SECOND", 1);
    /* Resolved once: later calls (any time later) keep the same. */
    ck_assert_int_eq(pp_awscred_get(cred, NOW + 86400, &creds, msg, sizeof msg), PP_OK);
    ck_assert_str_eq(creds.access_key_id, "FIRST");
    pp_awscred_invalidate(cred);
    ck_assert_int_eq(pp_awscred_source(cred), PP_AWSCRED_NONE);
    ck_assert_str_eq(pp_awscred_describe(cred), "none");
    ck_assert_int_eq(pp_awscred_get(cred, NOW, &creds, msg, sizeof msg), PP_OK);
    ck_assert_str_eq(creds.access_key_id, "SECOND");
    pp_awscred_destroy(cred);
    pp_awscred_destroy(NULL);
    ck_assert_str_eq(pp_awscred_source_name(PP_AWSCRED_NONE), "none");
    ck_assert_str_eq(pp_awscred_source_name(PP_AWSCRED_ENV), "environment");
    ck_assert_str_eq(pp_awscred_source_name(PP_AWSCRED_IMDS), "instance role");
    remove_home();
}
END_TEST

/* Nothing listens on the endpoint: the chain ends quickly, NOTFOUND,
 * naming the request that failed. */
START_TEST(test_imds_unreachable_fails_fast)
{
    struct timespec t0;
    struct timespec t1;
    char endpoint[64];
    double secs;

    clean_env();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/", pp_check_free_port());
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint, 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect_error(PP_ERR_NOTFOUND, "/latest/api/token", NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(secs < 2.0, "took %.2f s", secs);
    remove_home();
}
END_TEST

static Suite *awscred_suite(void)
{
    Suite *s = suite_create("awscred");

    PP_CHECK_TCASE(s, test_env);
    PP_CHECK_TCASE(s, test_env_partial);
    PP_CHECK_TCASE(s, test_env_before_file);
    PP_CHECK_TCASE(s, test_file_default_profile);
    PP_CHECK_TCASE(s, test_file_named_profile);
    PP_CHECK_TCASE(s, test_file_profile_errors);
    PP_CHECK_TCASE(s, test_file_default_absent);
    PP_CHECK_TCASE(s, test_file_malformed);
    PP_CHECK_TCASE(s, test_file_from_variable);
    PP_CHECK_TCASE(s, test_nothing_found);
    PP_CHECK_TCASE(s, test_kept_until_invalidated);
    PP_CHECK_TCASE(s, test_imds_unreachable_fails_fast);
    return s;
}

PP_CHECK_MAIN(awscred_suite)
