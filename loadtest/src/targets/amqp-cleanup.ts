import { connect } from 'amqplib';

/**
 * Deletes the run's exchanges and queues (idempotent on RabbitMQ: deleting what is not there is
 * not an error). Pod queues would also expire by themselves (x-expires); this is just tidier.
 */
export async function deleteAmqpObjects(url: string, objects: { exchanges: readonly string[]; queues: readonly string[] }): Promise<void> {
  const model = await connect(url);
  try {
    const channel = await model.createChannel();
    for (const queue of objects.queues) await channel.deleteQueue(queue);
    for (const exchange of objects.exchanges) await channel.deleteExchange(exchange);
    await channel.close();
  } finally {
    await model.close();
  }
}
