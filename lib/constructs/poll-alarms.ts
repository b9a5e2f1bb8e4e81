import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface PollAlarmsProps {
  readonly function: lambda.IFunction;
  /**
   * The management API Lambda, whose errors are watched too.
   * @default - no management function alarm
   */
  readonly managementFunction?: lambda.IFunction;
  readonly stage: apigwv2.IHttpStage;
  /**
   * Where alarm and OK notifications go.
   * @default - alarms without actions (visible in the console only)
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * The few signals that mean a TPP cannot poll (or a provider cannot notify): the handler turns every expected failure into
 * an HTTP answer itself, so any Lambda error, throttle or API 5xx is worth a look.
 */
export class PollAlarms extends Construct {
  public readonly functionErrors: cloudwatch.Alarm;
  public readonly functionThrottles: cloudwatch.Alarm;
  public readonly serverErrors: cloudwatch.Alarm;
  /** Present when a management function is given. */
  public readonly managementFunctionErrors?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PollAlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string): cloudwatch.Alarm => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (props.alarmTopic) {
        a.addAlarmAction(new actions.SnsAction(props.alarmTopic));
        a.addOkAction(new actions.SnsAction(props.alarmTopic));
      }
      return a;
    };

    this.functionErrors = alarm(
      'FunctionErrors',
      props.function.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
      'setpoll poll Lambda failed (unhandled error or timeout)',
    );
    this.functionThrottles = alarm(
      'FunctionThrottles',
      props.function.metricThrottles({ period, statistic: cloudwatch.Stats.SUM }),
      'setpoll poll Lambda throttled: concurrency exhausted by long polls',
    );
    this.serverErrors = alarm(
      'ServerErrors',
      props.stage.metricServerError({ period, statistic: cloudwatch.Stats.SUM }),
      'setpoll API answered 5xx',
    );
    if (props.managementFunction) {
      // Errors only: its expected failures are HTTP answers too, and a failed asynchronous
      // fan-out continuation (retried by Lambda) shows up here as well.
      this.managementFunctionErrors = alarm(
        'ManagementFunctionErrors',
        props.managementFunction.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
        'setpoll management Lambda failed (unhandled error, timeout, or a failed fan-out continuation)',
      );
    }
  }
}
