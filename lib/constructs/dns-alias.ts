import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { ConfigError } from './validation.ts';

export interface DnsAliasProps {
  /** The custom domain the record points at. */
  readonly domain: apigwv2.DomainName;
  /** Its host name, e.g. `events.bank.example`. */
  readonly domainName: string;
  /** The public hosted zone's id, e.g. `Z0123456789ABCDEFGHIJ`. */
  readonly hostedZoneId: string;
  /** The zone's name, e.g. `bank.example`: `domainName` must be in it. */
  readonly hostedZoneName: string;
}

/**
 * An A alias record for the poll domain in a given hosted zone. The zone is named, not looked up:
 * synth stays offline and environment-agnostic.
 */
export class DnsAlias extends Construct {
  public readonly record: route53.ARecord;

  constructor(scope: Construct, id: string, props: DnsAliasProps) {
    super(scope, id);
    const zoneName = props.hostedZoneName.replace(/\.$/, '');
    if (props.domainName !== zoneName && !props.domainName.endsWith(`.${zoneName}`)) {
      throw new ConfigError(`domainName ${props.domainName} is not in the hosted zone ${zoneName} (hostedZoneName)`);
    }
    if (!/^Z[A-Z0-9]{1,31}$/.test(props.hostedZoneId)) {
      throw new ConfigError(`hostedZoneId must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ (got ${JSON.stringify(props.hostedZoneId)})`);
    }
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', { hostedZoneId: props.hostedZoneId, zoneName });
    this.record = new route53.ARecord(this, 'Alias', {
      zone,
      recordName: `${props.domainName}.`,
      target: route53.RecordTarget.fromAlias(
        new targets.ApiGatewayv2DomainProperties(props.domain.regionalDomainName, props.domain.regionalHostedZoneId),
      ),
    });
  }
}
