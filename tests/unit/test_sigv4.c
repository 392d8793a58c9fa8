/*
 * Unit tests of pp_sigv4: AWS's documented S3 signing examples
 * ("Examples: Signature calculations" in the S3 API reference, header-based
 * authorization: GET Object with Range, PUT Object, GET Bucket Lifecycle,
 * GET Bucket list objects, with the documented example credentials), the
 * URI encoder, header folding, query order, the checks, and SHA-256.
 * Authorization is compared in botocore's layout (", " between the parts),
 * which tests/integration/test_sigv4.sh checks against botocore itself.
 */
#include <stdlib.h>
#include <string.h>

#include "pp_check.h"
#include "pp_sigv4.h"

#define EXAMPLE_AKID "AKIAIOSFODNN7EXAMPLE"
#define EXAMPLE_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EXAMPLE_HOST "examplebucket.s3.amazonaws.com"
/* 20130524T000000Z */
#define EXAMPLE_TIME INT64_C(1369353600)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define CREDENTIAL "Credential=" EXAMPLE_AKID "/20130524/us-east-1/s3/aws4_request"

static const struct pp_sigv4_creds example_creds = {EXAMPLE_AKID, EXAMPLE_SECRET, NULL};

/* Signs req with creds into sig; the call must succeed. */
static void sign_ok(const struct pp_sigv4_request *req, const struct pp_sigv4_creds *creds,
                    struct pp_sigv4_signature *sig)
{
    char msg[256];
    enum pp_err err = pp_sigv4_sign(req, creds, sig, msg, sizeof msg);

    ck_assert_msg(err == PP_OK, "sign: %s (%s)", pp_err_str(err), msg);
}

/* The signer's answer for req must be PP_ERR_INVALID with a message that
 * contains want and never the secret. */
static void sign_invalid(const struct pp_sigv4_request *req, const struct pp_sigv4_creds *creds,
                         const char *want)
{
    struct pp_sigv4_signature sig;
    char msg[256];
    enum pp_err err;

    pp_sigv4_signature_init(&sig);
    err = pp_sigv4_sign(req, creds, &sig, msg, sizeof msg);
    ck_assert_msg(err == PP_ERR_INVALID, "want invalid (%s), got %s", want, pp_err_str(err));
    ck_assert_msg(strstr(msg, want) != NULL, "message \"%s\" lacks \"%s\"", msg, want);
    ck_assert_ptr_null(strstr(msg, EXAMPLE_SECRET));
    ck_assert_ptr_null(sig.authorization);
    ck_assert_ptr_null(sig.header_lines[0]);
    pp_sigv4_signature_cleanup(&sig);
}

/* A documented example: req signed with the example credentials gives
 * these canonical request, string to sign and Authorization. sig (may be
 * NULL) keeps the signature for more checks; the caller cleans it up. */
static void expect_example(const struct pp_sigv4_request *req, const char *canonical_request,
                           const char *string_to_sign, const char *authorization,
                           struct pp_sigv4_signature *sig)
{
    struct pp_sigv4_signature own;

    if (sig == NULL)
        sig = &own;
    pp_sigv4_signature_init(sig);
    sign_ok(req, &example_creds, sig);
    ck_assert_str_eq(sig->canonical_request, canonical_request);
    ck_assert_str_eq(sig->string_to_sign, string_to_sign);
    ck_assert_str_eq(sig->authorization, authorization);
    if (sig == &own)
        pp_sigv4_signature_cleanup(sig);
}

#define EXAMPLE_STS(hash)                                                                          \
    "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" hash

START_TEST(test_example_get_object)
{
    const struct pp_sigv4_header headers[] = {{"Host", EXAMPLE_HOST}, {"Range", "bytes=0-9"}};
    const struct pp_sigv4_request req = {
        .method = "GET",
        .path = "/test.txt",
        .headers = headers,
        .n_headers = 2,
        .payload_sha256 = EMPTY_SHA256,
        .region = "us-east-1",
        .time = EXAMPLE_TIME,
    };
    struct pp_sigv4_signature sig;

    expect_example(&req,
                   "GET\n"
                   "/test.txt\n"
                   "\n"
                   "host:examplebucket.s3.amazonaws.com\n"
                   "range:bytes=0-9\n"
                   "x-amz-content-sha256:" EMPTY_SHA256 "\n"
                   "x-amz-date:20130524T000000Z\n"
                   "\n"
                   "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256,
                   EXAMPLE_STS("7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"),
                   "AWS4-HMAC-SHA256 " CREDENTIAL
                   ", SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                   "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
                   &sig);
    ck_assert_str_eq(sig.amz_date, "20130524T000000Z");
    ck_assert_str_eq(sig.header_lines[0] + strlen("Authorization: "), sig.authorization);
    ck_assert_int_eq(strncmp(sig.header_lines[0], "Authorization: ", 15), 0);
    ck_assert_str_eq(sig.header_lines[1], "x-amz-date: 20130524T000000Z");
    ck_assert_str_eq(sig.header_lines[2], "x-amz-content-sha256: " EMPTY_SHA256);
    ck_assert_ptr_null(sig.header_lines[3]);
    pp_sigv4_signature_cleanup(&sig);
}
END_TEST

START_TEST(test_example_put_object)
{
    static const char body[] = "Welcome to Amazon S3.";
    const struct pp_sigv4_header headers[] = {
        {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
        {"Host", EXAMPLE_HOST},
        {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
    };
    char payload[PP_SIGV4_SHA256_HEX_LEN];
    struct pp_sigv4_request req = {
        .method = "PUT",
        .path = "/test$file.text",
        .headers = headers,
        .n_headers = 3,
        .payload_sha256 = payload,
        .region = "us-east-1",
        .time = EXAMPLE_TIME,
    };

    ck_assert_int_eq(pp_sigv4_sha256_hex(body, strlen(body), payload), PP_OK);
    ck_assert_str_eq(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    expect_example(&req,
                   "PUT\n"
                   "/test%24file.text\n"
                   "\n"
                   "date:Fri, 24 May 2013 00:00:00 GMT\n"
                   "host:examplebucket.s3.amazonaws.com\n"
                   "x-amz-content-sha256:"
                   "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
                   "x-amz-date:20130524T000000Z\n"
                   "x-amz-storage-class:REDUCED_REDUNDANCY\n"
                   "\n"
                   "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
                   "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
                   EXAMPLE_STS("9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d"),
                   "AWS4-HMAC-SHA256 " CREDENTIAL
                   ", SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class"
                   ", Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
                   NULL);
}
END_TEST

START_TEST(test_example_get_bucket_lifecycle)
{
    const struct pp_sigv4_header headers[] = {{"Host", EXAMPLE_HOST}};
    const struct pp_sigv4_param params[] = {{"lifecycle", NULL}};
    const struct pp_sigv4_request req = {
        .method = "GET",
        .path = "/",
        .params = params,
        .n_params = 1,
        .headers = headers,
        .n_headers = 1,
        .payload_sha256 = EMPTY_SHA256,
        .region = "us-east-1",
        .time = EXAMPLE_TIME,
    };

    expect_example(&req,
                   "GET\n"
                   "/\n"
                   "lifecycle=\n"
                   "host:examplebucket.s3.amazonaws.com\n"
                   "x-amz-content-sha256:" EMPTY_SHA256 "\n"
                   "x-amz-date:20130524T000000Z\n"
                   "\n"
                   "host;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256,
                   EXAMPLE_STS("9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca"),
                   "AWS4-HMAC-SHA256 " CREDENTIAL
                   ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                   "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
                   NULL);
}
END_TEST

START_TEST(test_example_list_objects)
{
    const struct pp_sigv4_header headers[] = {{"Host", EXAMPLE_HOST}};
    /* Given out of order: the signer sorts. */
    const struct pp_sigv4_param params[] = {{"prefix", "J"}, {"max-keys", "2"}};
    const struct pp_sigv4_request req = {
        .method = "GET",
        .path = "/",
        .params = params,
        .n_params = 2,
        .headers = headers,
        .n_headers = 1,
        .payload_sha256 = EMPTY_SHA256,
        .region = "us-east-1",
        .time = EXAMPLE_TIME,
    };
    struct pp_sigv4_signature sig;

    expect_example(&req,
                   "GET\n"
                   "/\n"
                   "max-keys=2&prefix=J\n"
                   "host:examplebucket.s3.amazonaws.com\n"
                   "x-amz-content-sha256:" EMPTY_SHA256 "\n"
                   "x-amz-date:20130524T000000Z\n"
                   "\n"
                   "host;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256,
                   EXAMPLE_STS("df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7"),
                   "AWS4-HMAC-SHA256 " CREDENTIAL
                   ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                   "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
                   &sig);
    /* Signing again into the same struct replaces the first signature. */
    sign_ok(&req, &example_creds, &sig);
    ck_assert_int_eq(strncmp(sig.canonical_request, "GET\n/\nmax-keys=2&prefix=J\n", 25), 0);
    pp_sigv4_signature_cleanup(&sig);
    pp_sigv4_signature_cleanup(&sig);
}
END_TEST

/* pp_sigv4_uri_encode of s, as a C string the test frees. */
static char *encode(const char *s, bool is_path)
{
    struct pp_buf buf;

    pp_buf_init(&buf);
    ck_assert_int_eq(pp_sigv4_uri_encode(&buf, s, strlen(s), is_path), PP_OK);
    ck_assert_int_eq(pp_buf_append(&buf, "", 1), PP_OK);
    return buf.data;
}

static void expect_encoding(const char *s, bool is_path, const char *want)
{
    char *got = encode(s, is_path);

    ck_assert_msg(strcmp(got, want) == 0, "encode(\"%s\", %d) = \"%s\", want \"%s\"", s, is_path,
                  got, want);
    free(got);
}

START_TEST(test_uri_encode)
{
    /* into an empty buffer: was NULL + 0, undefined (clang's UBSan,
     * found by tests/fuzz/fuzz_sigv4) */
    expect_encoding("", true, "");
    expect_encoding("AZaz09-_.~", false, "AZaz09-_.~");
    expect_encoding("/bucket/dir/a b+\xc3\xbc.json", true, "/bucket/dir/a%20b%2B%C3%BC.json");
    expect_encoding("a/b", false, "a%2Fb");
    expect_encoding("a/b", true, "a/b");
    expect_encoding("!*'()+=&$@,;:?#[]%", true,
                    "%21%2A%27%28%29%2B%3D%26%24%40%2C%3B%3A%3F%23%5B%5D%25");
    /* Already-encoded text is encoded again: the input is plain text. */
    expect_encoding("a%20b", true, "a%2520b");
    expect_encoding("\x01\x7f\xff", false, "%01%7F%FF");
    expect_encoding("//./../x", true, "//./../x");
}
END_TEST

START_TEST(test_path_encoded_in_request)
{
    const struct pp_sigv4_header headers[] = {{"host", "h"}};
    struct pp_sigv4_request req = {
        .method = "GET",
        .path = "/bucket/dir/a b+\xc3\xbc.json",
        .headers = headers,
        .n_headers = 1,
        .payload_sha256 = PP_SIGV4_UNSIGNED_PAYLOAD,
        .region = "eu-west-1",
        .time = 0,
    };
    struct pp_sigv4_signature sig;

    pp_sigv4_signature_init(&sig);
    sign_ok(&req, &example_creds, &sig);
    ck_assert_str_eq(sig.canonical_request, "GET\n"
                                            "/bucket/dir/a%20b%2B%C3%BC.json\n"
                                            "\n"
                                            "host:h\n"
                                            "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"
                                            "x-amz-date:19700101T000000Z\n"
                                            "\n"
                                            "host;x-amz-content-sha256;x-amz-date\n"
                                            "UNSIGNED-PAYLOAD");
    ck_assert_str_eq(sig.header_lines[2], "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    /* An empty path is the root. */
    req.path = "";
    sign_ok(&req, &example_creds, &sig);
    ck_assert_int_eq(strncmp(sig.canonical_request, "GET\n/\n\n", 7), 0);
    pp_sigv4_signature_cleanup(&sig);
}
END_TEST

START_TEST(test_header_folding)
{
    const struct pp_sigv4_header headers[] = {
        {"X-Amz-Meta-B", "  two   inner \t runs  "},
        {"HOST", "h.example:9000"},
        {"x-amz-meta-a", "\t"},
        {"X-AMZ-META-B", "second"},
        {"User-Agent", "not signed"},
        {"Expect", "100-continue"},
        {"Content-Type", "text/plain;  charset=utf-8"},
    };
    const struct pp_sigv4_request req = {
        .method = "POST",
        .path = "/b/k",
        .headers = headers,
        .n_headers = sizeof headers / sizeof headers[0],
        .payload_sha256 = EMPTY_SHA256,
        .region = "us-east-1",
        .time = EXAMPLE_TIME,
    };
    struct pp_sigv4_signature sig;

    pp_sigv4_signature_init(&sig);
    sign_ok(&req, &example_creds, &sig);
    ck_assert_str_eq(sig.canonical_request,
                     "POST\n"
                     "/b/k\n"
                     "\n"
                     "content-type:text/plain; charset=utf-8\n"
                     "host:h.example:9000\n"
                     "x-amz-content-sha256:" EMPTY_SHA256 "\n"
                     "x-amz-date:20130524T000000Z\n"
                     "x-amz-meta-a:\n"
                     "x-amz-meta-b:two inner runs,second\n"
                     "\n"
                     "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;x-amz-meta-b\n"
                     "" EMPTY_SHA256);
    ck_assert_ptr_nonnull(strstr(sig.authorization, ", SignedHeaders=content-type;host;"
                                                    "x-amz-content-sha256;x-amz-date;"
                                                    "x-amz-meta-a;x-amz-meta-b, Signature="));
    pp_sigv4_signature_cleanup(&sig);
}
END_TEST

START_TEST(test_query_order_and_encoding)
{
    const struct pp_sigv4_header headers[] = {{"host", "h"}};
    /* "a" sorts before "a-b" (pairs, not joined "name=value" strings),
     * repeated names by value, encoded bytes by byte value. */
    const struct pp_sigv4_param params[] = {
        {"a-b", "1"},      {"prefix", "dir/x y+z"},      {"a", "2"}, {"a", "10"},
        {"uploads", NULL}, {"\xc3\xbc", "\xe2\x82\xac"}, {"B", ""},
    };
    const struct pp_sigv4_request req = {
        .method = "GET",
        .path = "/b",
        .params = params,
        .n_params = sizeof params / sizeof params[0],
        .headers = headers,
        .n_headers = 1,
        .payload_sha256 = EMPTY_SHA256,
        .region = "us-east-1",
        .time = EXAMPLE_TIME,
    };
    struct pp_sigv4_signature sig;

    pp_sigv4_signature_init(&sig);
    sign_ok(&req, &example_creds, &sig);
    ck_assert_int_eq(strncmp(sig.canonical_request,
                             "GET\n/b\n%C3%BC=%E2%82%AC&B=&a=10&a=2&a-b=1&"
                             "prefix=dir%2Fx%20y%2Bz&uploads=\nhost:h\n",
                             77),
                     0);
    pp_sigv4_signature_cleanup(&sig);
}
END_TEST

START_TEST(test_session_token)
{
    const struct pp_sigv4_creds creds = {EXAMPLE_AKID, EXAMPLE_SECRET, "token/with+chars=="};
    const struct pp_sigv4_creds empty_token = {EXAMPLE_AKID, EXAMPLE_SECRET, ""};
    const struct pp_sigv4_header headers[] = {{"Host", EXAMPLE_HOST}};
    const struct pp_sigv4_request req = {
        .method = "HEAD",
        .path = "/k",
        .headers = headers,
        .n_headers = 1,
        .payload_sha256 = EMPTY_SHA256,
        .region = "us-east-1",
        .time = EXAMPLE_TIME,
    };
    struct pp_sigv4_signature sig;
    struct pp_sigv4_signature plain;

    pp_sigv4_signature_init(&sig);
    pp_sigv4_signature_init(&plain);
    sign_ok(&req, &creds, &sig);
    ck_assert_str_eq(sig.header_lines[3], "x-amz-security-token: token/with+chars==");
    ck_assert_ptr_null(sig.header_lines[4]);
    ck_assert_ptr_nonnull(strstr(sig.canonical_request,
                                 "x-amz-security-token:token/with+chars==\n\n"
                                 "host;x-amz-content-sha256;x-amz-date;x-amz-security-token\n"));
    /* An empty token is no token. */
    sign_ok(&req, &empty_token, &plain);
    ck_assert_ptr_null(plain.header_lines[3]);
    ck_assert_ptr_null(strstr(plain.canonical_request, "x-amz-security-token"));
    ck_assert_str_ne(sig.authorization, plain.authorization);
    ck_assert_ptr_null(strstr(sig.canonical_request, EXAMPLE_SECRET));
    ck_assert_ptr_null(strstr(sig.string_to_sign, EXAMPLE_SECRET));
    ck_assert_ptr_null(strstr(sig.authorization, EXAMPLE_SECRET));
    pp_sigv4_signature_cleanup(&plain);
    pp_sigv4_signature_cleanup(&sig);
}
END_TEST

START_TEST(test_invalid_requests)
{
    struct pp_sigv4_header headers[] = {{"Host", "h"}, {"x-a", "v"}};
    const struct pp_sigv4_param no_name[] = {{"", "v"}};
    struct pp_sigv4_creds creds = example_creds;
    struct pp_sigv4_request ok = {
        .method = "GET",
        .path = "/k",
        .headers = headers,
        .n_headers = 2,
        .payload_sha256 = EMPTY_SHA256,
        .region = "us-east-1",
        .time = EXAMPLE_TIME,
    };
    struct pp_sigv4_request req;

    req = ok;
    req.method = "get";
    sign_invalid(&req, &creds, "the method");
    req = ok;
    req.path = "k";
    sign_invalid(&req, &creds, "the path");
    req = ok;
    req.payload_sha256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
    sign_invalid(&req, &creds, "the payload hash");
    req.payload_sha256 = "e3b0";
    sign_invalid(&req, &creds, "the payload hash");
    req = ok;
    req.region = "us east";
    sign_invalid(&req, &creds, "the region");
    req = ok;
    req.time = -1;
    sign_invalid(&req, &creds, "the time");
    req.time = INT64_C(253402300800);
    sign_invalid(&req, &creds, "the time");
    req = ok;
    req.n_headers = 1;
    req.headers = &headers[1];
    sign_invalid(&req, &creds, "no host header");
    req = ok;
    headers[1].name = "X-Amz-Date";
    sign_invalid(&req, &creds, "x-amz-date is set by the signer");
    headers[1].name = "Authorization";
    sign_invalid(&req, &creds, "authorization is set by the signer");
    headers[1].name = "bad name";
    sign_invalid(&req, &creds, "header 1");
    headers[1].name = "x-a";
    headers[1].value = "line\r\nx-injected: 1";
    sign_invalid(&req, &creds, "control character");
    headers[1].value = "v";
    req.params = no_name;
    req.n_params = 1;
    sign_invalid(&req, &creds, "query parameter 0");
    req = ok;
    creds.access_key_id = "AKID/x";
    sign_invalid(&req, &creds, "the access key id");
    creds.access_key_id = EXAMPLE_AKID;
    creds.session_token = "tok\nen";
    sign_invalid(&req, &creds, "the session token");
    creds.session_token = NULL;
    creds.secret_access_key = "";
    sign_invalid(&req, &creds, "the secret access key");
    /* msg may be NULL. */
    {
        struct pp_sigv4_signature sig;

        pp_sigv4_signature_init(&sig);
        ck_assert_int_eq(pp_sigv4_sign(&req, &creds, &sig, NULL, 0), PP_ERR_INVALID);
        pp_sigv4_signature_cleanup(&sig);
    }
}
END_TEST

START_TEST(test_sha256)
{
    static const char abc[] = "abc";
    char hex[PP_SIGV4_SHA256_HEX_LEN];
    char one_shot[PP_SIGV4_SHA256_HEX_LEN];
    struct pp_sigv4_sha256 *hasher;
    char *big = malloc(1 << 20);

    ck_assert_ptr_nonnull(big);
    /* The empty payload. */
    ck_assert_int_eq(pp_sigv4_sha256_hex(NULL, 0, hex), PP_OK);
    ck_assert_str_eq(hex, EMPTY_SHA256);
    ck_assert_int_eq(pp_sigv4_sha256_hex(abc, 3, hex), PP_OK);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_int_eq(pp_sigv4_sha256_new(&hasher), PP_OK);
    ck_assert_int_eq(pp_sigv4_sha256_final(hasher, hex), PP_OK);
    ck_assert_str_eq(hex, EMPTY_SHA256);
    /* Any split of the message gives the one-shot digest. */
    for (size_t i = 0; i < (1u << 20); i++)
        big[i] = (char)(i * 2654435761u >> 13);
    ck_assert_int_eq(pp_sigv4_sha256_hex(big, 1 << 20, one_shot), PP_OK);
    for (size_t step = 1; step <= (1u << 20); step = step * 7 + 3) {
        for (size_t off = 0; off < (1u << 20); off += step) {
            size_t n = (1u << 20) - off < step ? (1u << 20) - off : step;

            pp_sigv4_sha256_update(hasher, big + off, n);
            pp_sigv4_sha256_update(hasher, NULL, 0);
        }
        ck_assert_int_eq(pp_sigv4_sha256_final(hasher, hex), PP_OK);
        ck_assert_msg(strcmp(hex, one_shot) == 0, "step %zu", step);
    }
    /* After _final the hasher starts a new message. */
    pp_sigv4_sha256_update(hasher, "ab", 2);
    pp_sigv4_sha256_update(hasher, "c", 1);
    ck_assert_int_eq(pp_sigv4_sha256_final(hasher, hex), PP_OK);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    pp_sigv4_sha256_destroy(hasher);
    pp_sigv4_sha256_destroy(NULL);
    free(big);
}
END_TEST

static Suite *sigv4_suite(void)
{
    Suite *s = suite_create("sigv4");

    PP_CHECK_TCASE(s, test_example_get_object);
    PP_CHECK_TCASE(s, test_example_put_object);
    PP_CHECK_TCASE(s, test_example_get_bucket_lifecycle);
    PP_CHECK_TCASE(s, test_example_list_objects);
    PP_CHECK_TCASE(s, test_uri_encode);
    PP_CHECK_TCASE(s, test_path_encoded_in_request);
    PP_CHECK_TCASE(s, test_header_folding);
    PP_CHECK_TCASE(s, test_query_order_and_encoding);
    PP_CHECK_TCASE(s, test_session_token);
    PP_CHECK_TCASE(s, test_invalid_requests);
    PP_CHECK_TCASE(s, test_sha256);
    return s;
}

PP_CHECK_MAIN(sigv4_suite)
