import { RemovalPolicy } from 'aws-cdk-lib';

/**
 * The removal policy of everything setpoll keeps (the table, keys, buckets, log groups): retained
 * when the stack is deleted or the resource replaced, but deleted when the stack operation that
 * created it rolls back (CloudFormation `DeletionPolicy: RetainExceptOnCreate`,
 * `UpdateReplacePolicy: Retain`). A failed first deploy then leaves nothing behind for the retry
 * to collide with.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
 */
export const RETAINED = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
