"""A handler that reaches for AWS resources its app never declared."""

import boto3


def fetch(event, context):
    s3 = boto3.client("s3")
    try:
        s3.get_object(Bucket="somebody-elses-bucket", Key="secret.txt")
    except s3.exceptions.NoSuchBucket:
        found = "NoSuchBucket"
    sqs = boto3.client("sqs")
    try:
        sqs.get_queue_url(QueueName="somebody-elses-queue")
    except sqs.exceptions.QueueDoesNotExist:
        found += ",QueueDoesNotExist"
    return {"found": found}
