/**
 * The SES SMTP password (version 4) derived from an IAM secret access key.
 * SigV4-style HMAC-SHA256 chain over a fixed date, the SES region, "ses", "aws4_request" and "SendRawEmail",
 * prefixed with the version byte 0x04 and base64-encoded.
 */
import { createHmac } from "crypto";

const DATE = "11111111";
const SERVICE = "ses";
const TERMINAL = "aws4_request";
const MESSAGE = "SendRawEmail";
const VERSION = 0x04;

/** Well-formed AWS region names across partitions: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-7 ... */
export const AWS_REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

export function isAwsRegion(region: unknown): region is string {
    return typeof region === "string" && AWS_REGION_PATTERN.test(region);
}

function hmac(key: Buffer, data: string): Buffer {
    return createHmac("sha256", key).update(data, "utf8").digest();
}

export function deriveSmtpPassword(secretAccessKey: string, region: string): string {
    if (typeof secretAccessKey !== "string" || secretAccessKey.length === 0) {
        throw new Error("deriveSmtpPassword: secretAccessKey must be a non-empty string");
    }
    if (!isAwsRegion(region)) {
        throw new Error(`deriveSmtpPassword: region ${JSON.stringify(region)} is not a well-formed AWS region (e.g. eu-west-1)`);
    }
    let signature = hmac(Buffer.from("AWS4" + secretAccessKey, "utf8"), DATE);
    for (const part of [region, SERVICE, TERMINAL, MESSAGE]) {
        signature = hmac(signature, part);
    }
    return Buffer.concat([Buffer.from([VERSION]), signature]).toString("base64");
}

/**
 * SMTP credentials can only come from long-term IAM user keys (AKIA...). Temporary keys (ASIA...) expire with
 * their session token and SES refuses them for SMTP.
 */
export function assertLongTermAccessKeyId(accessKeyId: string): void {
    if (/^ASIA/.test(accessKeyId)) {
        throw new Error(`access key ${accessKeyId} is a temporary (ASIA...) key: SES SMTP credentials need a long-term IAM user key (AKIA...)`);
    }
    if (!/^AKIA[A-Z0-9]{12,124}$/.test(accessKeyId)) {
        throw new Error(`access key id ${JSON.stringify(accessKeyId)} is not a long-term IAM access key id (AKIA...)`);
    }
}
