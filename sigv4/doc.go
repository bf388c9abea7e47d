// Package sigv4 verifies AWS Signature Version 4: the Authorization header
// and presigned URLs, as the AWS CLI, boto3, aws-sdk-go-v2, minio-go, rclone,
// s3cmd and curl --aws-sigv4 sign them, and aws-chunked bodies signed chunk
// by chunk. It is Warden's own verifier: it imports no AWS SDK.
//
// A resource service (through Warden's access service) builds a Request from
// what it received, declares its region and service in an Expect, and calls
// Verifier.Verify. The verifier rebuilds the canonical request strictly from
// the request's own SignedHeaders, checks the time against an injected
// clock, looks the signing key up through Keys (in memory: KeyCache keeps
// derived keys per access key, day, region and service), and compares
// signatures in constant time. A refusal is a *Refusal whose Reason maps to
// the AWS error code the client expects, and says no more than AWS says.
//
// The hot path — header form, a cached key — allocates nothing.
package sigv4
