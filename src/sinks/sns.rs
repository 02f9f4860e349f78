//! Alerts to SNS, with message attributes for subscription filter policies and, on a
//! FIFO topic, a group id and a deduplication id.

use aws_sdk_sns::types::MessageAttributeValue;

use super::{AlertSink, SinkError};
use crate::alert::AlertMessage;

pub struct SnsAlerts {
    config: aws_sdk_sns::Config,
    /// Made from `config` on the first alert. Most invocations alert on nothing, and making
    /// an SNS client parses the SDK's table of AWS partitions and compiles its regexes
    /// (0.45 M instructions, a seventh of the cold start); a container that never alerts
    /// never pays it, and one that does pays it once.
    client: std::sync::OnceLock<aws_sdk_sns::Client>,
    topic_arn: String,
    fifo: bool,
}

impl SnsAlerts {
    pub fn new(config: aws_sdk_sns::Config, topic_arn: impl Into<String>) -> Self {
        let topic_arn = topic_arn.into();
        SnsAlerts {
            fifo: topic_arn.ends_with(".fifo"),
            config,
            client: std::sync::OnceLock::new(),
            topic_arn,
        }
    }

    fn client(&self) -> &aws_sdk_sns::Client {
        self.client
            .get_or_init(|| aws_sdk_sns::Client::from_conf(self.config.clone()))
    }
}

impl AlertSink for SnsAlerts {
    async fn publish(&self, alert: &AlertMessage) -> Result<(), SinkError> {
        let mut req = self
            .client()
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&alert.subject)
            .message(&alert.body);
        for (name, value) in alert.attributes() {
            let attr = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| SinkError {
                    sink: "sns",
                    message: e.to_string(),
                })?;
            req = req.message_attributes(name, attr);
        }
        if self.fifo {
            req = req
                .message_group_id(&alert.group_id)
                .message_deduplication_id(&alert.dedup_id);
        }
        req.send().await.map(|_| ()).map_err(|e| SinkError {
            sink: "sns",
            message: format!(
                "Publish to {} ({}): {}",
                self.topic_arn,
                alert.rule_id,
                aws_sdk_sns::error::DisplayErrorContext(&e)
            ),
        })
    }
}
