// Makes the test bucket world-readable, so a test can read it over plain HTTP as a static
// tlog-tiles log with nothing in between (as a CDN or a monitor would).
import { PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';

export async function publicRead(endpoint: string, bucket: string): Promise<void> {
  const raw = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' });
  const statement = {
    Effect: 'Allow',
    Principal: '*',
    Action: ['s3:GetObject'],
    Resource: [`arn:aws:s3:::${bucket}/*`],
  };
  try {
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [statement] });
    await raw.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy }));
  } finally {
    raw.destroy();
  }
}
